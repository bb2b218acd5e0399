// What `npm start` gives a newcomer: the two demo models published with the real CLI, and the demo
// page at /demo/ embedding the runtime with one <script> from /sdk/, predicting either model's
// real records in Chromium.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { DEMO, bootstrapDemo } from "../../scripts/lib/demo.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { readUntil } from "./harness/poll.ts";

const ADMIN = "adm_demo_page_test";

describe("the demo page on a freshly bootstrapped collector", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-demo-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let page: Page;
  let keys: { ingestKey: string; readKey: string };
  const said: string[] = [];

  beforeAll(async () => {
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    keys = await bootstrapDemo({ url: collector.url, adminKey: ADMIN }, (text) => said.push(...text.split("\n")));
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("says each first publish's app has the ingest key npm start made, not to make one", () => {
    for (const { name } of DEMO.models) expect(said).toContain(`${name} is in app ${DEMO.app}, which has 1 ingest key for its pages (driftline keys list --app ${DEMO.app})`);
    expect(said.filter((line) => line.includes("keys create"))).toEqual([]);
  });

  it("publishes both demo models: v1 stable, v2 waiting, profiled on their reference periods", async () => {
    const rows: Record<string, number[]> = {};
    for (const { name } of DEMO.models) {
      const res = await fetch(`${collector.url}/v1/models/${name}`, { headers: { authorization: `Bearer ${keys.readKey}` } });
      const model = (await res.json()) as { app: string; rollout: { stable: number }; versions: Array<{ version: number; profileRows: number }> };
      expect(model.app).toBe(DEMO.app);
      expect(model.rollout.stable).toBe(1);
      expect(model.versions.map((v) => v.version)).toEqual([1, 2]);
      rows[name] = model.versions.map((v) => v.profileRows);
    }
    // strikes 1990–93 and 1994–97; flights of January and February 2001
    expect(rows).toEqual({ "birdstrike-damage": [2368, 2997], "flight-delay": [508239, 458170] });
  });

  for (const { name, labels } of DEMO.models) {
    it(`offers ${name}: starts its runtime from the page, predicts a real record and joins what happened on the device`, async () => {
      await page.goto(`${collector.url}/demo/?key=${keys.ingestKey}`);
      await page.selectOption("#model", name);
      await page.click("#start");
      await page.waitForFunction(() => !(document.getElementById("predict") as HTMLButtonElement).disabled, undefined, { timeout: 60_000 });
      expect(await page.textContent("#status")).toContain(`model${name}versionv1backendwasm`);
      await page.click("#predict");
      await page.waitForFunction(() => document.getElementById("result")!.textContent !== "");
      const result = new RegExp(`^(${labels.join("|")}) \\(\\d+\\.\\d%\\) — v1, \\d+\\.\\d\\d ms$`);
      expect(await page.textContent("#result")).toMatch(result);
      await page.click("#feedback");
      expect(await page.textContent("#truth")).toMatch(new RegExp(`^what happened: (${labels.join("|")})`));
      // and as app 4.3 would send it, then the page goes away: both rows reach the collector
      await page.click("#buggy");
      await page.evaluate(() => dispatchEvent(new Event("pagehide")));
      const counted = async () => {
        await fetch(`${collector.url}/v1/reports/flush?model=${name}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
        const drift = await fetch(`${collector.url}/v1/drift?model=${name}&segment=appVersion:demo-page`, { headers: { authorization: `Bearer ${keys.readKey}` } });
        return ((await drift.json()) as { count: number }).count;
      };
      expect(await readUntil(counted, (rows) => rows >= 2)).toBe(2);
    });
  }
});
