import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startStaticServer, type StaticServer } from "./harness/static-server.ts";
import { SMOKE_CLASSIFIER, buildDenseClassifier, denseClassifierReference } from "../fixtures/onnx-models.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("onnxruntime-web and IndexedDB in headless Chromium", () => {
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  const modelBytes = buildDenseClassifier(SMOKE_CLASSIFIER);

  beforeAll(async () => {
    server = await startStaticServer(
      {
        "/ort/": `${root}node_modules/onnxruntime-web/dist/`,
        "/pages/": `${root}test/browser/pages/`,
      },
      { "/models/smoke.onnx": { body: modelBytes } },
    );
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.goto(`${server.url}/pages/ort-smoke.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("runs a model built in code on the wasm backend and matches plain JS", async () => {
    const rows = [
      [1, 2, 3, 4],
      [0, 0, 0, 0],
      [-1.5, 0.25, 3.75, -2],
    ];
    const result = await page.evaluate(
      ([url, r]) => (window as unknown as { runModel: (u: string, r: number[][]) => Promise<{ dims: number[]; data: number[]; crossOriginIsolated: boolean }> }).runModel(url, r),
      ["/models/smoke.onnx", rows] as const,
    );
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.dims).toEqual([3, 3]);
    const expected = denseClassifierReference(SMOKE_CLASSIFIER, rows).flat();
    result.data.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
  });

  it("stores model bytes in IndexedDB and reads them back unchanged", async () => {
    const result = await page.evaluate(([url]) => (window as unknown as { roundTripIdb: (u: string, k: string) => Promise<{ stored: number[]; read: number[] }> }).roundTripIdb(url, "smoke"), [
      "/models/smoke.onnx",
    ] as const);
    expect(result.stored.length).toBe(modelBytes.length);
    expect(result.read).toEqual(Array.from(modelBytes));
  });
});
