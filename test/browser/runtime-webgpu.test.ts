// Item 1, WebGPU: Chromium with --enable-unsafe-webgpu (SwiftShader's software adapter). The
// runtime times both backends in `auto`, remembers the choice, honours the manifest's
// preference, and WebGPU answers as WASM does within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { churnColumns, churnModel, churnRows } from "../fixtures/runtime-models.ts";
import { denseClassifierReference } from "../fixtures/onnx-models.ts";

describe("runtime: WebGPU in headless Chromium (software adapter)", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let base: Record<string, unknown>;
  const model = churnModel("gpu");
  const preferring = churnModel("gpu-pref", 2, { preferredBackend: "webgpu" });
  const rows = churnRows(16);

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig({ webgpu: true }));
    await collector.publish(model.bytes, model.manifest);
    await collector.publish(preferring.bytes, { ...preferring.manifest, model: "gpu-pref" });
    base = { collector: collector.url, key: await collector.ingestKey(), ortUrl: `${server.url}/ort/` };
    page = await browser.context.newPage();
    await openRuntimePage(page, server);
  });

  afterAll(() => rig?.stop());

  /** Starts a runtime with `extra` options, predicts `rows`, closes it. */
  const predictWith = (extra: Record<string, unknown>) =>
    page.evaluate(
      async ({ o, r }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        const preds = await rt.predict(r);
        const backend = rt.backend;
        await rt.close();
        return { backend, probs: preds.flatMap((p) => Array.from(p.outputs.probabilities as Float32Array)) };
      },
      { o: { ...base, ...extra }, r: rows },
    );

  it("has a WebGPU adapter in this Chromium", async () => {
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu;
      const a = await gpu?.requestAdapter();
      return a ? `${a.info?.vendor}/${a.info?.architecture}` : null;
    });
    expect(adapter).not.toBeNull();
  });

  it("auto times both backends, keeps the faster, and remembers it for this model on this device", async () => {
    const first = await predictWith({ model: "gpu" });
    expect(first.backend.reason).toBe("timed");
    expect(["wasm", "webgpu"]).toContain(first.backend.name);
    const again = await predictWith({ model: "gpu" });
    expect(again.backend).toEqual({ name: first.backend.name, reason: "remembered" });
  });

  it("gives the same outputs on WebGPU as on WASM within 1e-4", async () => {
    const gpu = await predictWith({ model: "gpu", backend: "webgpu" });
    const wasm = await predictWith({ model: "gpu", backend: "wasm" });
    expect(gpu.backend).toEqual({ name: "webgpu", reason: "option" });
    expect(wasm.backend).toEqual({ name: "wasm", reason: "option" });
    const reference = denseClassifierReference(model.classifier, rows.map(churnColumns)).flat();
    gpu.probs.forEach((p, i) => {
      expect(Math.abs(p - wasm.probs[i]!)).toBeLessThan(1e-4);
      expect(Math.abs(p - reference[i]!)).toBeLessThan(1e-4);
    });
  });

  it("follows the manifest's preferred backend", async () => {
    const pref = await predictWith({ model: "gpu-pref" });
    expect(pref.backend).toEqual({ name: "webgpu", reason: "manifest" });
  });
});
