// Item 7: an app on another origin embeds one <script> from the collector's /sdk/ (the build of
// `npm run build`), which loads onnxruntime-web from the collector's /sdk/ort/ and predicts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { startStaticServer, type StaticServer } from "./harness/static-server.ts";
import { churnColumns, churnModel } from "../fixtures/runtime-models.ts";
import { denseClassifierReference } from "../fixtures/onnx-models.ts";

describe("runtime: one <script> from the collector's /sdk/", () => {
  let collector: TestCollector;
  let app: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  const model = churnModel("sdk");

  beforeAll(async () => {
    [collector, app, browser] = await Promise.all([startTestCollector(), startStaticServer({}), launchBrowser()]);
    await collector.publish(model.bytes, model.manifest);
    const key = await collector.ingestKey();
    // the README snippet, verbatim but for the URL and key
    app.set(
      "/index.html",
      `<!doctype html>
<script src="${collector.url}/sdk/driftline.iife.js"></script>
<script>
  const rt = Driftline.createRuntime({ collector: "${collector.url}", key: "${key}", model: "sdk" });
  rt.then(async (rt) => {
    window.rt = rt;
    window.ready = true;
  }, (err) => { window.failed = String(err); });
</script>`,
    );
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await collector?.stop();
  });

  it("loads the runtime and onnxruntime-web from the collector and predicts", async () => {
    await page.goto(`${app.url}/index.html`);
    await page.waitForFunction(() => window.ready === true || "failed" in window, undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { failed?: string }).failed)).toBeUndefined();
    const row = { tenure: 12, charges: 70, age: 33, plan: "pro" };
    const out = await page.evaluate(async (r) => {
      const p = await window.rt.predict(r);
      const fromCollector = performance.getEntriesByType("resource").map((e) => e.name);
      return { probs: Array.from(p.outputs.probabilities as Float32Array), label: p.label, fromCollector };
    }, row);
    const expected = denseClassifierReference(model.classifier, [churnColumns(row)])[0]!;
    out.probs.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 5));
    expect(out.fromCollector).toContain(`${collector.url}/sdk/ort/ort.wasm.min.mjs`);
    expect(out.fromCollector.some((u) => u.startsWith(`${collector.url}/sdk/ort/`) && u.endsWith(".wasm"))).toBe(true);
  });
});
