// The collector serves the runtime build and the onnxruntime-web files under /sdk/ (Workers static
// assets from dist/site, built by `npm run build`), loadable from any origin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startStaticServer, type StaticServer } from "./harness/static-server.ts";
import { SMOKE_CLASSIFIER, buildDenseClassifier, denseClassifierReference } from "../fixtures/onnx-models.ts";

describe("/sdk/ on the local collector", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let page: StaticServer;
  let browser: TestBrowser;
  const state = mkdtempSync(join(tmpdir(), "driftline-sdk-"));

  beforeAll(async () => {
    collector = await startCollector({ adminKey: "adm_sdk_test", persistTo: state });
    page = await startStaticServer(
      {},
      {
        "/": { body: "<!doctype html><title>an app on another origin</title>", type: "text/html" },
        "/model.onnx": { body: buildDenseClassifier(SMOKE_CLASSIFIER) },
      },
    );
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await page?.stop();
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("serves the runtime and onnxruntime-web with CORS and CORP headers", async () => {
    for (const path of ["/sdk/driftline.js", "/sdk/driftline.iife.js", "/sdk/ort/ort.wasm.min.mjs", "/sdk/ort/ort-wasm-simd-threaded.wasm"]) {
      const res = await fetch(`${collector.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("access-control-allow-origin"), path).toBe("*");
      expect(res.headers.get("cross-origin-resource-policy"), path).toBe("cross-origin");
      await res.arrayBuffer();
    }
    const wasm = await fetch(`${collector.url}/sdk/ort/ort-wasm-simd-threaded.wasm`);
    expect(wasm.headers.get("content-type")).toBe("application/wasm");
    await wasm.arrayBuffer();
  });

  it("lets a cross-origin-isolated page on another origin load onnxruntime-web from it and run a model", async () => {
    const tab = await browser.context.newPage();
    await tab.goto(`${page.url}/`);
    // A string, not a function: vitest would rewrite a dynamic import() inside a function body.
    const result = (await tab.evaluate(`(async (sdk) => {
      const ort = await import(sdk + "/ort/ort.wasm.min.mjs");
      ort.env.wasm.wasmPaths = sdk + "/ort/";
      const bytes = new Uint8Array(await (await fetch("/model.onnx")).arrayBuffer());
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      const input = new ort.Tensor("float32", Float32Array.from([1, 2, 3, 4]), [1, 4]);
      const out = await session.run({ features: input });
      return { isolated: crossOriginIsolated, data: Array.from(out.probabilities.data) };
    })(${JSON.stringify(`${collector.url}/sdk`)})`)) as { isolated: boolean; data: number[] };
    expect(result.isolated).toBe(true);
    const expected = denseClassifierReference(SMOKE_CLASSIFIER, [[1, 2, 3, 4]])[0]!;
    result.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });
});
