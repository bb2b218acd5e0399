// What `npm start` gives a newcomer: the demo model published with the real CLI, and the demo
// page at /demo/ embedding the runtime with one <script> from /sdk/, predicting in Chromium.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { DEMO, bootstrapDemo } from "../../scripts/lib/demo.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";

const root = new URL("../..", import.meta.url).pathname;
const ADMIN = "adm_demo_page_test";

describe("the demo page on a freshly bootstrapped collector", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-demo-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let page: Page;
  let keys: { ingestKey: string; readKey: string };

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "ignore" });
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    keys = await bootstrapDemo({ url: collector.url, adminKey: ADMIN }, () => {});
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("publishes the demo model: v1 stable, v2 waiting", async () => {
    const res = await fetch(`${collector.url}/v1/models/${DEMO.model}`, { headers: { authorization: `Bearer ${keys.readKey}` } });
    const model = (await res.json()) as { app: string; rollout: { stable: number }; versions: Array<{ version: number; profileRows: number }> };
    expect(model.app).toBe(DEMO.app);
    expect(model.rollout.stable).toBe(1);
    expect(model.versions.map((v) => [v.version, v.profileRows])).toEqual([
      [1, 398],
      [2, 398],
    ]);
  });

  it("starts the runtime from the page, predicts a patient and joins its diagnosis on the device", async () => {
    await page.goto(`${collector.url}/demo/?key=${keys.ingestKey}`);
    await page.click("#start");
    await page.waitForFunction(() => !(document.getElementById("predict") as HTMLButtonElement).disabled, undefined, { timeout: 60_000 });
    expect(await page.textContent("#status")).toMatch(/versionv1backendwasm/);
    await page.click("#predict");
    await page.waitForFunction(() => document.getElementById("result")!.textContent !== "");
    expect(await page.textContent("#result")).toMatch(/^(malignant|benign) \(\d+\.\d%\) — v1, \d+\.\d\d ms$/);
    await page.click("#feedback");
    expect(await page.textContent("#truth")).toMatch(/^true diagnosis: (malignant|benign)/);
  });

  it("reports what the page predicted to the collector", async () => {
    await page.click("#buggy");
    await page.evaluate(() => dispatchEvent(new Event("pagehide")));
    const deadline = Date.now() + 30_000;
    let rows = 0;
    while (Date.now() < deadline && rows < 2) {
      await fetch(`${collector.url}/v1/reports/flush?model=${DEMO.model}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
      const drift = await fetch(`${collector.url}/v1/drift?model=${DEMO.model}&segment=appVersion:demo-page`, { headers: { authorization: `Bearer ${keys.readKey}` } });
      rows = ((await drift.json()) as { count: number }).count;
      if (rows < 2) await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows).toBe(2);
  });
});
