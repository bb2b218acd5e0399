// The dashboard in headless Chromium for a model of 300 features against a real local collector:
// what drifted reads as a count and the worst features first, not as a page of 300 rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { Report } from "../../protocol/schema/report.ts";
import { NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { runScheduled } from "../../scripts/lib/collector-process.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { wideModel, wideRow } from "../fixtures/runtime-models.ts";

const MODEL = "wide";
const SHAPE = { numeric: 300 };
const CLIENTS = 4;
const HOOK = "https://hooks.example.com/services/T0/B0/secret";

/**
 * One client's report of `minutesAgo`: every other row of the reference's 100 (a report of
 * 300 sketches of 100 values each would pass the report size limit), except every third feature
 * (n0, n3, …) moved far out of its range, and n1 too in the oldest minute.
 */
function report(client: number, minutesAgo: number, now: number): Report {
  const features: Record<string, string> = {};
  for (let f = 0; f < SHAPE.numeric; f++) {
    const moved = f % 3 === 0 || (f === 1 && minutesAgo === 2);
    const sketch = new NumericSketch();
    for (let i = 0; i < 100; i += 2) sketch.update((wideRow(SHAPE, i)[`n${f}`] as number) + (moved ? 5000 : 0));
    features[`n${f}`] = toBase64(sketch.encode());
  }
  const start = now - minutesAgo * 60_000;
  return { id: `wide-${client}-${minutesAgo}`, model: MODEL, version: 1, role: "live", client: `client-${client}`, start, end: start + 5_000, segment: {}, rows: 50, sampleRate: 1, features };
}

describe("dashboard of a model with 300 features", () => {
  let collector: TestCollector;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    [collector, browser] = await Promise.all([startTestCollector(), launchBrowser()]);
    const { bytes, manifest } = wideModel(MODEL, SHAPE);
    await collector.publish(bytes, manifest);
    await collector.rollout(MODEL, { stable: 1 });
    const ingest = await collector.ingestKey();
    // each client from its own address, as a fleet's would be (verdicts trim the heaviest sender's share)
    // one clock for every client: posting takes seconds, and a minute that ended meanwhile put the
    // last clients' newest reports alone in the latest window (a clean-clone run read 'No feature
    // drifted in the latest window. · 600 rows')
    const now = Date.now();
    for (let c = 0; c < CLIENTS; c++) {
      const reports = [2, 1, 0].map((m) => report(c, m, now));
      for (const r of reports) expect(await collector.sendReports(ingest, [r], `198.51.100.${c + 1}`)).toEqual([r.id]);
    }
    await collector.admin("POST", `/v1/reports/flush?model=${MODEL}`);
    const read = (await collector.admin<{ token: string }>("POST", "/v1/keys", { app: "test", role: "read" })).token;
    page = await browser.context.newPage();
    await page.goto(`${collector.url}/dashboard`);
    await page.fill("#read-key", read);
    await page.click("form.signin button[type=submit]");
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it("counts the drifted features, names the first ten, and shows the worst first with the rest folded", async () => {
    await page.click(`a[href="#/model/test/${MODEL}"]`);
    await page.waitForSelector(`h1:text-is("${MODEL}")`);
    // the model page's first refresh may have drawn the default range's windows (12 × 5 min, where
    // n1's one moved minute can share a window with two steady ones) before the range changed:
    // wait for the refresh of the chosen range to end
    await page.selectOption("select:near(:text('range'))", "15m");
    await page.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
    expect(await page.locator(".heatmap-wrap").first().locator("thead th").count()).toBe(1 + 15);
    expect(await page.textContent(".summary")).toMatch(/^100 of 300 features drifted in the latest window: (n\d+, ){9}n\d+ and 90 more · /);
    // the 100 drifting now, then n1 (drifted in an older window), then nothing else unfolded
    const shown = await page.locator(".heatmap-wrap:not(details .heatmap-wrap) tbody th").allTextContents();
    expect(shown).toHaveLength(101);
    expect(shown.slice(0, 100).every((name) => Number(name.replace(/\D+$/, "").slice(1)) % 3 === 0)).toBe(true);
    expect(shown[100]).toMatch(/^n1KS/);
    expect(await page.textContent("details.steady summary")).toBe("199 features that drifted in no window of this range");
    expect(await page.isVisible('td[data-feature="n2"]')).toBe(false);
    // opened, it stays open through a refresh
    await page.click("details.steady summary");
    await page.click("button:text-is('Refresh')");
    await page.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
    expect(await page.isVisible('td[data-feature="n2"]')).toBe(true);
  });

  it("lists the alerts firing once per model, version and kind, not once per feature", async () => {
    await collector.admin("PUT", `/v1/models/${MODEL}/alerts`, { webhook: HOOK, featureDrift: ["*"], datasetDrift: 0.3 });
    await runScheduled(collector.url);
    await page.evaluate(() => (location.hash = "#/"));
    await page.waitForSelector('li.alert[data-kind="feature_drift"]');
    expect(await page.locator("li.alert").count()).toBe(2);
    expect(await page.textContent('li.alert[data-kind="feature_drift"]')).toMatch(/^feature drift wide v1 in [\w-]+ · 101 firing: (n\d+, ){9}n\d+ and 91 more since /);
    expect(await page.textContent('li.alert[data-kind="dataset_drift"]')).toContain("dataset drift FIRING");
  });

  it("says whether each recent alert reached the webhook", async () => {
    await page.click(`a[href="#/model/test/${MODEL}"]`);
    await page.waitForSelector(".alerts .alert .delivery");
    // the test's collector reaches no network: every post failed, and says why
    const deliveries = await page.locator(".alerts .alert .delivery").allTextContents();
    expect(deliveries).toHaveLength(10);
    for (const text of deliveries) expect(text).toMatch(/^webhook: not delivered after 1 attempt: .+/);
  });
});
