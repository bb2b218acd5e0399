// Items 1 and 2 of the runtime: load (assignment, IndexedDB cache, SHA-256, session, backend),
// predict (validation policies, tensors, outputs equal to bare onnxruntime-web), run, offline start.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { CHURN_LABELS, churnColumns, churnModel, churnRows, churnTreeModel } from "../fixtures/runtime-models.ts";

describe("runtime: load and predict against a local collector", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let key: string;
  const model = churnModel("churn");
  const opts = () => ({ collector: collector.url, key, model: "churn", ortUrl: `${server.url}/ort/`, client: "client-1", segment: { appVersion: "4.2" } });

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig());
    await collector.publish(model.bytes, model.manifest);
    key = await collector.ingestKey();
    page = await browser.context.newPage();
    await openRuntimePage(page, server);
    await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
    }, opts());
  });

  afterAll(() => rig?.stop());

  /**
   * Bare onnxruntime-web on the same bytes and columns, in the same page: one output's values
   * (as numbers).
   */
  const bare = (columns: number[][], file = "model.onnx", output = "probabilities") =>
    page.evaluate(
      async ([url, cols, file, output]) => {
        const ort = (await window.importModule(`${url}ort.wasm.min.mjs`)) as typeof import("onnxruntime-web");
        const bytes = new Uint8Array(await (await fetch(`${url}../${file}`)).arrayBuffer());
        const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
        const out = await session.run({ features: new ort.Tensor("float32", Float32Array.from(cols.flat()), [cols.length, 6]) });
        return Array.from(out[output]!.data as ArrayLike<number | bigint>, Number);
      },
      [`${server.url}/ort/`, columns, file, output] as const,
    );

  /** Closes the page's runtime, then puts `value` under `key` in its IndexedDB store `area`, as other script could. */
  const closeAndStore = (area: string, key: string, value: unknown) =>
    page.evaluate(
      async ({ area, key, value }) => {
        await window.rt.close();
        const db = await new Promise<IDBDatabase>((resolve) => {
          const req = indexedDB.open("driftline");
          req.onsuccess = () => resolve(req.result);
        });
        await new Promise((resolve) => {
          const tx = db.transaction(area, "readwrite");
          tx.objectStore(area).put(value, key);
          tx.oncomplete = resolve;
        });
        db.close();
      },
      { area, key, value },
    );

  it("loads the assigned version, caches it in IndexedDB by sha256, and reports the backend choice", async () => {
    const info = await page.evaluate(async (sha) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("driftline");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const cached = await new Promise<unknown>((resolve) => {
        const req = db.transaction("models").objectStore("models").get(sha);
        req.onsuccess = () => resolve(req.result);
      });
      db.close();
      return { version: window.rt.version, backend: window.rt.backend, cachedBytes: (cached as Uint8Array | undefined)?.length };
    }, model.manifest.sha256);
    expect(info.version).toBe("1");
    expect(info.backend).toEqual({ name: "wasm", reason: "only-wasm" });
    expect(info.cachedBytes).toBe(model.bytes.length);
  });

  it("predicts one row and a batch of 64 exactly as bare onnxruntime-web does", async () => {
    server.set("/model.onnx", model.bytes);
    const rows = churnRows(64, 3);
    const got = await page.evaluate(async (r) => {
      const one = await window.rt.predict(r[0]!);
      const many = await window.rt.predict(r);
      const flat = (p: { outputs: Record<string, ArrayLike<unknown>> }) => Array.from(p.outputs.probabilities as Float32Array);
      return { one: { ...one, outputs: flat(one) }, many: many.map((p) => ({ ...p, outputs: flat(p) })) };
    }, rows);
    const expected = await bare(rows.map(churnColumns));
    expect(got.one.outputs).toEqual(expected.slice(0, 3));
    expect(got.many.flatMap((p) => p.outputs)).toEqual(expected);
    for (const [i, p] of got.many.entries()) {
      const probs = expected.slice(i * 3, i * 3 + 3);
      const best = probs.indexOf(Math.max(...probs));
      expect(p.label).toBe(CHURN_LABELS[best]);
      expect(p.score).toBe(probs[best]);
      expect(p.version).toBe("1");
    }
    expect(new Set(got.many.map((p) => p.id)).size).toBe(64);
  });

  it("predicts with a gradient-boosted tree ensemble (int64 class and probabilities) exactly as bare onnxruntime-web does", async () => {
    const trees = churnTreeModel("trees", 20, 4);
    await collector.publish(trees.bytes, trees.manifest);
    server.set("/trees.onnx", trees.bytes);
    const rows = churnRows(64, 5);
    const got = await page.evaluate(
      async ([o, r]) => {
        const rt = await window.Driftline.createRuntime({ ...o, model: "trees" });
        const many = await rt.predict(r);
        await rt.close();
        return many.map((p) => ({ label: p.label, score: p.score, cls: Number((p.outputs.label as BigInt64Array)[0]), probs: Array.from(p.outputs.probabilities as Float32Array) }));
      },
      [opts(), rows] as const,
    );
    const probabilities = await bare(rows.map(churnColumns), "trees.onnx");
    const classes = await bare(rows.map(churnColumns), "trees.onnx", "label");
    expect(got.flatMap((p) => p.probs)).toEqual(probabilities);
    expect(got.map((p) => p.cls)).toEqual(classes);
    // the label output names the class; the score is that class's probability
    expect(new Set(classes).size).toBeGreaterThan(1);
    for (const [i, p] of got.entries()) {
      expect(p.label).toBe(CHURN_LABELS[classes[i]!]);
      expect(p.score).toBe(Math.max(...probabilities.slice(i * 3, i * 3 + 3)));
    }
  });

  it("applies each feature's policy: clamp, impute, reject with a coded error", async () => {
    server.set("/model.onnx", model.bytes);
    const results = await page.evaluate(async () => {
      const attempt = async (row: Record<string, unknown>) => {
        try {
          const p = await window.rt.predict(row as never);
          return { ok: Array.from(p.outputs.probabilities as Float32Array) };
        } catch (err) {
          return { code: (err as { code?: string }).code, name: (err as Error).name, message: (err as Error).message };
        }
      };
      return {
        clamped: await attempt({ tenure: 500, charges: 30, age: 40, plan: "pro" }),
        imputedMissing: await attempt({ tenure: 10, age: 40, plan: "pro" }),
        imputedNaN: await attempt({ tenure: 10, charges: NaN, age: 40, plan: "pro" }),
        imputedType: await attempt({ tenure: 10, charges: "lots", age: 40, plan: "pro" }),
        rejectRange: await attempt({ tenure: 10, charges: 30, age: 12, plan: "pro" }),
        rejectMissing: await attempt({ tenure: 10, charges: 30, plan: "pro" }),
        rejectCategory: await attempt({ tenure: 10, charges: 30, age: 40, plan: "gold" }),
        clampNaN: await attempt({ tenure: NaN, charges: 30, age: 40, plan: "pro" }),
      };
    });
    const expected = await bare([churnColumns({ tenure: 100, charges: 30, age: 40, plan: "pro" }), churnColumns({ tenure: 10, charges: 50, age: 40, plan: "pro" })]);
    expect(results.clamped).toEqual({ ok: expected.slice(0, 3) });
    expect(results.imputedMissing).toEqual({ ok: expected.slice(3, 6) });
    expect(results.imputedNaN).toEqual({ ok: expected.slice(3, 6) });
    expect(results.imputedType).toEqual({ ok: expected.slice(3, 6) });
    for (const r of [results.rejectRange, results.rejectMissing, results.rejectCategory, results.clampNaN]) {
      expect(r).toMatchObject({ code: "validation", name: "DriftlineError" });
    }
    expect(results.rejectCategory).toMatchObject({ message: expect.stringContaining("plan") });
  });

  it("runs raw feeds for non-tabular use exactly as bare onnxruntime-web does", async () => {
    server.set("/model.onnx", model.bytes);
    const cols = churnRows(5).map(churnColumns);
    const got = await page.evaluate(async (c) => {
      const r = await window.rt.run({ features: { type: "float32", data: Float32Array.from(c.flat()), dims: [c.length, 6] } });
      return { data: Array.from(r.outputs.probabilities!.data as Float32Array), dims: r.outputs.probabilities!.dims, version: r.version, id: r.id };
    }, cols);
    expect(got.data).toEqual(await bare(cols));
    expect(got.dims).toEqual([5, 3]);
    expect(got.version).toBe("1");
  });

  it("re-downloads a cached model whose bytes no longer hash right", async () => {
    await closeAndStore("models", model.manifest.sha256, new Uint8Array([1, 2, 3]));
    await openRuntimePage(page, server);
    const out = await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
      const p = await window.rt.predict({ tenure: 1, charges: 30, age: 30, plan: "basic" });
      return Array.from(p.outputs.probabilities as Float32Array);
    }, opts());
    expect(out).toEqual(await bare([churnColumns({ tenure: 1, charges: 30, age: 30, plan: "basic" })]));
  });

  // the stored assignment is read before the fresh one arrives (its model is read ahead): one of
  // another shape, left by an older build or written by other script, must not stop the start
  it("starts with a stored assignment of another shape (no manifest) as if none were stored", async () => {
    await closeAndStore("meta", "assignment:churn", { version: 1 });
    await openRuntimePage(page, server);
    const version = await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
      return (await window.rt.predict({ tenure: 1, charges: 30, age: 30, plan: "basic" })).version;
    }, opts());
    expect(version).toBe("1");
  });

  it("starts from the cache and predicts after a reload with the collector down", async () => {
    await page.evaluate(() => window.rt.close());
    await collector.stop();
    await openRuntimePage(page, server);
    const out = await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
      const p = await window.rt.predict({ tenure: 5, charges: 40, age: 50, plan: "enterprise" });
      return { probs: Array.from(p.outputs.probabilities as Float32Array), version: p.version };
    }, opts());
    expect(out.version).toBe("1");
    expect(out.probs).toEqual(await bare([churnColumns({ tenure: 5, charges: 40, age: 50, plan: "enterprise" })]));
  });
});
