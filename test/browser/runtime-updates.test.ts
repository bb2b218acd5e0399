// Items 4–6: updates and rollback swapped in between predictions, a failed update that leaves
// the previous version serving, shadow runs reported as agreement, feedback joined on the device.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { churnColumns, churnModel, churnRows, sha256 } from "../fixtures/runtime-models.ts";
import { denseClassifierReference } from "../fixtures/onnx-models.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { fromBase64, decodeConfusion, decodeNumeric } from "../../protocol/sketch/index.ts";

const ROW = churnRows(1, 7)[0]!;
const v1 = churnModel("upd", 0);
const v2 = churnModel("upd", 1);
const expected = (m: typeof v1) => denseClassifierReference(m.classifier, [churnColumns(ROW)])[0]!;

describe("runtime: updates, rollback, shadow and feedback", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  const sent: Array<{ reports: Report[]; answer: { accepted?: string[] } }> = [];

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig());
    await collector.publish(v1.bytes, v1.manifest);
    await collector.publish(v2.bytes, v2.manifest);
    const options = { collector: collector.url, key: await collector.ingestKey(), model: "upd", ortUrl: `${server.url}/ort/`, reportIntervalMs: 250, reportRows: 20 };
    page = await browser.context.newPage();
    page.on("response", async (res) => {
      if (!res.url().includes("/v1/reports") || res.request().method() !== "POST") return;
      sent.push({ reports: JSON.parse(res.request().postData() ?? "{}").reports, answer: await res.json().catch(() => ({})) });
    });
    await openRuntimePage(page, server);
    await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
      const events: Array<[string, unknown]> = [];
      window.keep = { events };
      for (const e of ["update", "rollback", "error"] as const) window.rt.on(e, (p) => events.push([e, e === "error" ? (p as { code: string }).code : p]));
    }, options);
  });

  afterAll(() => rig?.stop());

  /** Predicts ROW in a loop until `until` holds in the page; returns [version, probabilities | error code]. */
  const predictUntil = async (until: string) => {
    await page.evaluate((row) => {
      window.keep.stop = false;
      window.keep.loop = (async () => {
        const seen: Array<[string, number[] | string]> = [];
        while (!window.keep.stop) {
          try {
            const p = await window.rt.predict(row);
            seen.push([p.version, Array.from(p.outputs.probabilities as Float32Array)]);
          } catch (err) {
            seen.push(["error", (err as { code: string }).code]);
          }
          await new Promise((r) => setTimeout(r, 3));
        }
        return seen;
      })();
    }, ROW);
    await page.waitForFunction(until, undefined, { timeout: 60_000 });
    return page.evaluate(async () => {
      window.keep.stop = true;
      return (await window.keep.loop) as Array<[string, number[] | string]>;
    });
  };

  const expectClean = (seen: Array<[string, number[] | string]>, from: string, to: string) => {
    expect(seen.filter(([v]) => v === "error")).toEqual([]);
    const versions = seen.map(([v]) => v);
    const switchAt = versions.indexOf(to);
    expect(switchAt).toBeGreaterThan(0);
    expect(versions.slice(0, switchAt).every((v) => v === from)).toBe(true);
    expect(versions.slice(switchAt).every((v) => v === to)).toBe(true);
    for (const [v, probs] of seen) {
      const want = expected(v === "1" ? v1 : v2);
      (probs as number[]).forEach((p, i) => expect(p).toBeCloseTo(want[i]!, 5));
    }
  };

  it("swaps in a new stable version between predictions, none failed or mixed", async () => {
    expect(await page.evaluate(() => window.rt.version)).toBe("1");
    const predicting = predictUntil("window.rt.version === '2'");
    await collector.rollout("upd", { stable: 2 });
    expectClean(await predicting, "1", "2");
    expect(await page.evaluate(() => window.keep.events)).toEqual([["update", { from: "1", to: "2" }]]);
  });

  it("rolls back the same way", async () => {
    const predicting = predictUntil("window.rt.version === '1'");
    await collector.admin("POST", "/v1/models/upd/rollback");
    expectClean(await predicting, "2", "1");
    expect((await page.evaluate(() => window.keep.events as unknown[])).at(-1)).toEqual(["rollback", { from: "2", to: "1" }]);
  });

  it("keeps serving the previous version when the new one fails to load, with a coded error", async () => {
    // reads as an ONNX model (the collector checks that) but its graph is two junk bytes
    const broken = new Uint8Array([0x08, 0x08, 0x3a, 0x02, 0xff, 0xff]);
    const v3 = { ...v2.manifest, sha256: sha256(broken), size: broken.length };
    await collector.publish(broken, v3);
    await collector.rollout("upd", { stable: 3 });
    const seen = await predictUntil("window.keep.events.some((e) => e[0] === 'error')");
    expect(seen.every(([v]) => v === "1")).toBe(true);
    const errors = (await page.evaluate(() => window.keep.events as string[][])).filter((e) => e[0] === "error");
    expect(errors[0]).toEqual(["error", "backend"]);
    expect(await page.evaluate(() => window.rt.version)).toBe("1");
    await collector.rollout("upd", { stable: 1 });
  });

  it("runs a shadow version on sampled rows off the critical path and reports agreement", async () => {
    sent.length = 0;
    await collector.rollout("upd", { shadow: { version: 2, sampleRate: 1 } });
    const seen = await predictUntil("window.keep.shadowSeen = (window.keep.shadowSeen ?? 0) + 1, window.keep.shadowSeen > 150");
    expect(seen.every(([v]) => v === "1")).toBe(true); // the app only ever sees the live output
    await page.evaluate(() => window.rt.flush());
    await expect.poll(() => sent.some((s) => s.reports.some((r) => r.role === "shadow"))).toBe(true);
    const shadowReports = sent.flatMap((s) => s.reports.filter((r) => r.role === "shadow").map((r) => ({ r, accepted: s.answer.accepted?.includes(r.id) })));
    expect(shadowReports.length).toBeGreaterThan(0);
    expect(shadowReports.every((s) => s.accepted)).toBe(true);
    const rows = shadowReports.reduce((n, s) => n + s.r.shadow!.rows, 0);
    const agree = shadowReports.reduce((n, s) => n + (s.r.shadow!.agree ?? 0), 0);
    expect(rows).toBeGreaterThan(0);
    expect(shadowReports[0]!.r).toMatchObject({ version: 1, rows: 0, shadow: { version: 2 } });
    // v1 and v2 answer ROW with the same class or not: agreement is all or nothing here
    const sameClass = expected(v1).indexOf(Math.max(...expected(v1))) === expected(v2).indexOf(Math.max(...expected(v2)));
    expect(agree).toBe(sameClass ? rows : 0);
    const delta = decodeNumeric(fromBase64(shadowReports[0]!.r.shadow!.delta!));
    expect(delta.mean).toBeCloseTo(Math.max(...expected(v2)) - Math.max(...expected(v1)), 4);
    await collector.rollout("upd", { shadow: null });
  });

  it("joins feedback labels with predictions on the device and reports only a confusion matrix", async () => {
    sent.length = 0;
    const ids = await page.evaluate(
      async (rows) => {
        const preds = await window.rt.predict(rows);
        const joined = [await window.rt.feedback(preds[0]!.id, "churn"), await window.rt.feedback(preds[1]!.id, 0), await window.rt.feedback("no-such-id", "stay")];
        await window.rt.flush();
        return { ids: preds.map((p) => p.id), labels: preds.map((p) => p.label), joined };
      },
      churnRows(3, 11),
    );
    expect(ids.joined).toEqual([true, true, false]);
    // responses are recorded asynchronously on the Node side
    await expect.poll(() => sent.flatMap((s) => s.reports).filter((r) => r.confusion).length).toBe(1);
    const bodies = sent.map((s) => JSON.stringify(s.reports)).join("\n");
    for (const id of ids.ids) expect(bodies).not.toContain(id);
    const withConfusion = sent.flatMap((s) => s.reports).filter((r) => r.confusion);
    expect(withConfusion).toHaveLength(1);
    expect(sent.find((s) => s.reports.includes(withConfusion[0]!))!.answer.accepted).toContain(withConfusion[0]!.id);
    const m = decodeConfusion(fromBase64(withConfusion[0]!.confusion!));
    const cls = (label: string | undefined) => m.labels.indexOf(label!);
    expect(m.count(1, cls(ids.labels[0]))).toBe(1);
    expect(m.count(0, cls(ids.labels[1]))).toBe(1);
    expect(m.cells.reduce((a, b) => a + b, 0)).toBe(2);
  });
});
