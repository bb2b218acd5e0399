// What a newcomer sees soon after `npm start`: the same steps npm start takes (build, local
// collector, the two demo models published, the fleet simulator with npm start's options), then,
// once the replay has passed 1998, the dashboard in Chromium, range "15 × 1 min": both models on
// the fleet page, the strikes' drift heatmap with the later years' shift in airport, aircraft and
// operator, and the flights' accuracy line from on-device labels beside the label-free estimate. Tests do not assert on timings:
// it prints how long after the start the dashboard was opened (docs/demo.md has the figures).
// Screenshots go to $DASHBOARD_SCREENSHOT_DIR (default /tmp).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { DEMO, bootstrapDemo } from "../../scripts/lib/demo.mjs";
import { type Fleet, startFleet } from "../e2e/demo-fleet.ts";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";

const ADMIN = "adm_demo_dashboard_test";
const SHOTS = process.env.DASHBOARD_SCREENSHOT_DIR ?? "/tmp";

describe("the dashboard soon after npm start", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-demo-dashboard-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let page: Page;
  let fleet: Fleet;
  let started: number;

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    // the heatmap turns red once the fleet's later years are flushed and judged, which under the
    // suite's load (two files at a time beside the simulated fleet) can take longer than 30 s
    page.setDefaultTimeout(90_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    // from here on, what npm start does (scripts/start.mjs)
    started = Date.now();
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    const keys = await bootstrapDemo({ url: collector.url, adminKey: ADMIN }, () => {});
    fleet = await startFleet(collector.url, keys.ingestKey);
    // the newcomer opens the dashboard once the strikes have passed 1998
    while (!fleet.periods().some((p) => p.period === "1998")) {
      if (fleet.exitCode() !== null) throw new Error(`the simulator ended early: ${fleet.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`demo dashboard: opened ${((Date.now() - started) / 1000).toFixed(1)} s after the start (npm start's steps)`);
    await page.goto(`${collector.url}/dashboard`);
    await page.fill("#read-key", keys.readKey);
    await page.click("form.signin button[type=submit]");
    await page.selectOption("label.field:has-text('range') select", "15m");
  });

  afterAll(async () => {
    await fleet?.stop();
    await browser?.close();
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("lists both models on the fleet page", async () => {
    for (const { name } of DEMO.models) await page.locator(`tr[data-model="${name}"]`).waitFor();
    expect(await page.locator(`tr[data-model="${DEMO.models[0]!.name}"] td`).nth(1).textContent()).toBe("v1");
    await page.screenshot({ path: `${SHOTS}/demo-fleet.png`, fullPage: true });
  });

  it("shows the strikes' drift heatmap: reference years green, the later shift red in airport, aircraft and operator, never in phase of flight", async () => {
    await page.click(`a[href="#/model/${DEMO.app}/birdstrike-damage"]`);
    for (const name of ["Airport Name", "Aircraft Make Model", "Aircraft Airline Operator"]) {
      await page.waitForSelector(`td[data-feature="${name}"][data-drifted="true"]`);
      // the first windows with traffic are the reference years 1990–93: not drifted
      const verdicts = await page.locator(`td[data-feature="${name}"]`).evaluateAll((cells) => cells.map((c) => c.getAttribute("data-drifted")));
      expect(
        verdicts.find((v) => v !== "none"),
        name,
      ).toBe("false");
    }
    expect(await page.locator('td[data-feature="Phase of flight"][data-drifted="false"]').count()).toBeGreaterThan(3);
    expect(await page.locator('td[data-feature="Phase of flight"][data-drifted="true"]').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/demo-birdstrike-damage.png`, fullPage: true });
  }, 300_000);

  it("labels the operators' distribution without overlapping names, and opens the heatmap on its newest windows on a phone", async () => {
    await page.selectOption("select:near(:text('feature'))", "Aircraft Airline Operator");
    await page.waitForSelector('[data-distribution="Aircraft Airline Operator"] .axis text');
    const overlaps = await page
      .locator('[data-distribution="Aircraft Airline Operator"] svg')
      .first()
      .evaluate((svg) => {
        // the x axis: the y axis comes first
        const boxes = [...svg.querySelectorAll("g.axis")[1]!.querySelectorAll("text")].map((t) => t.getBoundingClientRect()).sort((a, b) => a.left - b.left);
        return boxes.slice(1).filter((b, i) => b.left < boxes[i]!.right).length;
      });
    expect(overlaps).toBe(0);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click("button:text-is('Refresh')");
    await page.waitForFunction(() => {
      const wrap = document.querySelector(".heatmap-wrap");
      return !!wrap && wrap.scrollWidth > wrap.clientWidth && wrap.scrollLeft + wrap.clientWidth >= wrap.scrollWidth - 1;
    });
    // charts keep axis text of at least 9 px (10 px in a 560-wide viewBox), scroll, and open on their
    // newest windows; measured once every chart is drawn (the refresh redraws them one by one)
    const measured = await page.waitForFunction(() => {
      const charts = [...document.querySelectorAll(".chart-scroll")].map((w) => {
        const svg = w.querySelector("svg");
        const text = svg?.querySelector(".axis text");
        const xAxis = svg?.querySelectorAll("g.axis")[1];
        if (!svg || !text || !xAxis || !svg.viewBox.baseVal?.width || !svg.getBoundingClientRect().width) return undefined;
        const fontPx = (Number.parseFloat(getComputedStyle(text).fontSize) * svg.getBoundingClientRect().width) / svg.viewBox.baseVal.width;
        const seen = w.getBoundingClientRect();
        const last = [...xAxis.querySelectorAll("text")].at(-1)!.getBoundingClientRect();
        return { fontPx, lastLabelSeen: last.left >= seen.left && last.right <= seen.right };
      });
      return charts.length > 2 && charts.every(Boolean) && charts;
    });
    const charts = (await measured.jsonValue()) as { fontPx: number; lastLabelSeen: boolean }[];
    expect(charts.length).toBeGreaterThan(2);
    for (const c of charts) expect(c).toEqual({ fontPx: expect.toSatisfy((px: number) => px >= 9), lastLabelSeen: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 300_000);

  it("shows the flights' heatmap and accuracy line from on-device labels beside the estimate and the baseline", async () => {
    await page.evaluate(() => (location.hash = "#/model/flight-delay"));
    await page.waitForSelector('td[data-feature="origin"][data-drifted="false"]');
    await page.waitForSelector('[data-version="1"] .accuracy .line.s-p50 circle', { state: "attached" });
    // the windows' accuracy from labels, the estimate without them and its band's two edges, the profile's baseline
    for (const line of ["s-p50", "s-estimate", "s-band", "s-p95"]) expect(await page.locator(`[data-version="1"] .accuracy .line.${line} path`).count(), line).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/demo-flight-delay.png`, fullPage: true });
  });
});
