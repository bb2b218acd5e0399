// The dashboard in headless Chromium against a real local collector: a key prompt, the fleet, a
// model's rollout, drift verdicts, a distribution, latency per backend, and a rollback click.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { formatBytes } from "../../protocol/byte-size.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { CategoricalSketch, ClassificationSketch, ConfusionMatrix, ErrorCounts, LatencySketch, NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { CONFIDENCE_BINS, addProbabilities } from "../../protocol/sketch/prediction.ts";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { signInToDashboard } from "./harness/dashboard.ts";
import { CHURN_LABELS, PLANS, churnModel, churnRows } from "../fixtures/runtime-models.ts";

const MODEL = "dash";
const b64 = (s: { encode(): Uint8Array }) => toBase64(s.encode());
let counter = 0;
/** Clients of the canary share (version 2), found through the collector's own assignment. */
const canaryClients: string[] = [];

/**
 * A report of the churn model sketched like the runtime does: 100 rows in the reference's
 * distribution, except `tenure` pushed to the top of its range when `drifted`.
 */
function report(version: number, backend: "wasm" | "webgpu", minutesAgo: number, drifted: boolean): Report {
  const tenure = new NumericSketch({ range: { min: 0, max: 100 } });
  const charges = new NumericSketch();
  const age = new NumericSketch({ range: { min: 18, max: 99 } });
  const plan = new CategoricalSketch(PLANS);
  const prediction = new ClassificationSketch(CHURN_LABELS);
  const latency = new LatencySketch();
  const errors = new ErrorCounts();
  const rows = churnRows(100, counter * 37);
  rows.forEach((r, i) => {
    tenure.update(drifted ? 70 + (r.tenure % 30) : r.tenure);
    charges.update(r.charges);
    age.update(r.age);
    plan.update(r.plan);
    addProbabilities(prediction, i % 4 ? [0.7, 0.2, 0.1] : [0.2, 0.7, 0.1]);
    // the canary (version 2) is three times slower on wasm
    latency.update(backend, (backend === "wasm" ? 1 + (i % 5) * 0.3 : 6 + (i % 7)) * (version === 2 ? 3 : 1));
  });
  if (backend === "wasm") errors.update("validation", 2);
  // the stable version's clients feed labels back: 8 of 10 right
  const confusion = new ConfusionMatrix(CHURN_LABELS);
  for (let i = 0; i < 10; i++) confusion.update(i % 3, i < 8 ? i % 3 : (i + 1) % 3);
  const start = Date.now() - minutesAgo * 60_000;
  return {
    id: `dash-${counter++}`,
    model: MODEL,
    version,
    role: "live",
    // a report's version must be one the rollout gives its client (not_assigned otherwise)
    client: version === 2 ? canaryClients[counter % canaryClients.length]! : `client-${counter % 7}`,
    start,
    end: start + 5_000,
    segment: { backend, appVersion: drifted ? "4.3" : "4.2" },
    rows: rows.length,
    sampleRate: 1,
    features: { tenure: b64(tenure), charges: b64(charges), age: b64(age), plan: b64(plan) },
    prediction: b64(prediction),
    latency: b64(latency),
    ...(errors.counts.size > 0 && { errors: b64(errors) }),
    ...(version === 1 && { confusion: b64(confusion) }),
  };
}

/** The paths of the API requests `page` makes until `stop()`. */
function apiPaths(page: Page): { paths: string[]; stop(): void } {
  const paths: string[] = [];
  const record = (req: { url(): string }) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith("/v1/")) paths.push(url.pathname);
  };
  page.on("request", record);
  return { paths, stop: () => page.off("request", record) };
}

describe("dashboard", () => {
  let collector: TestCollector;
  let browser: TestBrowser;
  let page: Page;
  let readKey: string;
  let adminKey: string;
  let modelBytes: number;

  beforeAll(async () => {
    [collector, browser] = await Promise.all([startTestCollector(), launchBrowser()]);
    const v1 = churnModel(MODEL);
    const v2 = churnModel(MODEL, 1, {}, [16]); // a hidden layer: over a KiB
    // the canary's clients send no labels: its profile's fit lets the collector estimate accuracy
    const curve = (right: number) => new Array<number>(CONFIDENCE_BINS).fill(right);
    const estimation = {
      curves: [curve(0.8), curve(0.6), curve(0.5)],
      misses: [
        [0, 0.5, 0.5],
        [0.5, 0, 0.5],
        [0.5, 0.5, 0],
      ],
      band: { rows: 200, accuracy: 0.03, f1: {} },
    };
    const calibration = { confidence: [], accuracy: [], count: [] };
    v2.manifest.profile.performance = { kind: "classification", labelled: 1000, accuracy: 0.8, precision: {}, recall: {}, f1: {}, log_loss: 0.5, calibration, estimation };
    await collector.publish(v1.bytes, v1.manifest);
    await collector.publish(v2.bytes, v2.manifest);
    modelBytes = v2.bytes.length;
    await collector.rollout(MODEL, { canary: { version: 2, percent: 10 } });
    const key = async (role: string) => (await collector.admin<{ token: string }>("POST", "/v1/keys", { app: "test", role })).token;
    [readKey, adminKey] = [await key("read"), await key("admin")];
    const ingest = await collector.ingestKey();
    for (let i = 0; canaryClients.length < 3 && i < 500; i++) {
      const res = await fetch(`${collector.url}/v1/assignment?model=${MODEL}&client=canary-${i}`, { headers: { authorization: `Bearer ${ingest}` } });
      if (((await res.json()) as { version: number }).version === 2) canaryClients.push(`canary-${i}`);
    }
    // Drifted tenure (the 4.3 clients) outweighs the undrifted reports: 3 of every 4 drifted.
    const reports = [0, 1, 2, 3].flatMap((m) => [report(1, "wasm", m, true), report(1, "webgpu", m, true), report(1, "wasm", m, true), report(1, "webgpu", m, false), report(2, "wasm", m, false)]);
    // each client from its own address, as a fleet's would be (verdicts trim the heaviest
    // sender's share: one address sending everything would never be judged drifted)
    const clients = [...new Set(reports.map((r) => r.client))];
    for (const [i, client] of clients.entries()) {
      const own = reports.filter((r) => r.client === client);
      expect(await collector.sendReports(ingest, own, `198.51.100.${i + 1}`)).toHaveLength(own.length);
    }
    await collector.admin("POST", `/v1/reports/flush?model=${MODEL}`);
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  const signIn = (read: string, admin = "") => signInToDashboard(page, collector.url, read, admin);

  it("serves the page at /dashboard and asks for a key", async () => {
    const res = await page.goto(`${collector.url}/dashboard`);
    expect(res?.ok()).toBe(true);
    expect(await page.isVisible("#read-key")).toBe(true);
    expect(await page.isVisible("#toolbar")).toBe(false);
  });

  it("asks again when the key is refused", async () => {
    await signIn("read_not_a_key");
    await page.waitForSelector(".signin [role=alert]");
    expect(await page.textContent(".signin [role=alert]")).toContain("refused");
  });

  it("asks again for an ingest key, which reads nothing, rather than loading for ever", async () => {
    await signIn(await collector.ingestKey());
    await page.waitForSelector(".signin [role=alert]");
    expect(await page.textContent(".signin [role=alert]")).toBe("The collector refused the key: this route needs a read key; this is an ingest key. Enter a read key.");
    expect(await page.isVisible("#toolbar")).toBe(false);
  });

  it("shows the fleet with the model's rollout, asking one drift per model and no stats", async () => {
    const asked = apiPaths(page);
    await signIn(readKey);
    const row = page.locator(`tr[data-model="${MODEL}"]`);
    await row.waitFor();
    await page.waitForLoadState("networkidle");
    asked.stop();
    // rows and errors come with the list (lastHour); the stable and canary cost no request each
    expect(asked.paths.sort()).toEqual(["/v1/alerts", "/v1/drift", "/v1/models"]);
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(1, 3)).toEqual(["v1", "v2 · 10%"]);
    expect(cells[6]).toBe("2K"); // 20 reports of 100 rows over stable and canary
    expect(cells.at(-1)).toBe("no drift"); // one feature of four drifted: under the dataset share
    // GET /v1/alerts?state=firing answered: nothing fires
    expect(await page.locator(".panel", { hasText: "Alerts firing" }).textContent()).toContain("No alerts firing.");
  });

  it("shows a model: rollout, drift verdicts, a distribution, accuracy and latency per backend, read-only", async () => {
    await page.click(`a[href="#/model/test/${MODEL}"]`);
    await page.waitForSelector('td[data-feature="tenure"][data-drifted="true"]');
    // each verdict in words beside its colour, for screen readers (its score alone said nothing of it)
    expect(await page.getByRole("cell", { name: /drifted$/ }).count()).toBeGreaterThan(0);
    expect(await page.locator('td[data-feature="tenure"][data-drifted="true"]').first().textContent()).toMatch(/ drifted$/);
    expect(await page.locator('td[data-feature="age"][data-drifted="false"]').first().textContent()).toMatch(/ no drift$/);
    for (const stable of ["charges", "age", "plan"]) {
      expect(await page.locator(`td[data-feature="${stable}"][data-drifted="false"]`).count(), stable).toBeGreaterThan(0);
      expect(await page.locator(`td[data-feature="${stable}"][data-drifted="true"]`).count(), stable).toBe(0);
    }
    expect(await page.textContent('[data-rollout="stable"]')).toBe("v1");
    expect(await page.textContent('[data-rollout="canary"]')).toBe("v2 · 10%");
    // the model's size as `driftline status` prints it (it read "1K B": a compact count of bytes)
    expect(await page.locator("tr:has(th:text-is('v2')) td.num").first().textContent()).toBe(formatBytes(modelBytes));
    await page.waitForSelector('[data-distribution="age"] rect.s-current');
    expect(await page.locator('[data-distribution="age"] rect.s-reference').count()).toBe(10);
    await page.selectOption("select:near(:text('feature'))", "tenure");
    await page.waitForSelector('[data-distribution="tenure"] .badge-bad');
    for (const backend of ["wasm", "webgpu"]) await page.waitForSelector(`[data-version="1"] [data-backend="${backend}"] .line path`, { state: "attached" });
    expect(await page.locator('[data-version="2"] [data-backend="wasm"] .line path').count()).toBe(3);
    // side by side on one scale: the canary's slower wasm is not drawn as high as the stable's
    const top = (version: number) => page.locator(`[data-version="${version}"] [data-backend="wasm"] .axis`).first().locator("text").last().textContent();
    expect(await top(1)).toBe(await top(2));
    expect(await page.locator('[data-version="1"] .errors rect.s-err0').count()).toBeGreaterThan(0);
    // 8 reports of 100 calls on wasm: counted once, not once per window (a sliced query covers its hour)
    expect(await page.textContent('[data-version="1"] [data-backend="wasm"] h4')).toBe("wasm · 800 calls");
    // sliced by a segment, the heatmap shows the hours the range touches, and says so
    await page.selectOption("select:near(:text('segment'))", "backend:wasm");
    await page.waitForSelector("text=by hour: a segment's data is kept per hour");
    await page.waitForFunction(() => document.querySelectorAll('td[data-feature="tenure"]').length <= 2);
    await page.selectOption("select:near(:text('segment'))", "");
    // accuracy from the labels the stable version's clients fed back; for the canary, without
    // labels, only the estimate and its band
    await page.waitForSelector('[data-version="1"] .accuracy .line.s-p50 circle', { state: "attached" });
    await page.waitForSelector('[data-version="2"] .accuracy .line.s-estimate circle', { state: "attached" });
    expect(await page.locator('[data-version="2"] .accuracy .line.s-p50 circle').count()).toBe(0);
    expect(await page.locator('[data-version="2"] .accuracy .line.s-band circle').count()).toBeGreaterThan(0);
    const buttons = page.locator(".actions button");
    expect(await buttons.count()).toBe(5);
    expect(await page.locator(".actions button:enabled").count()).toBe(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOT_DIR ?? "/tmp"}/dashboard-model.png`, fullPage: true });
  });

  it("loads a model page with a drift and a stats request per six windows, not per window", async () => {
    const asked = apiPaths(page);
    await page.reload();
    await page.waitForSelector('td[data-feature="tenure"][data-drifted="true"]');
    await page.waitForSelector('[data-version="2"] [data-backend="wasm"] .line path', { state: "attached" });
    await page.waitForLoadState("networkidle");
    asked.stop();
    // the last refresh, whole (a refresh begins with the model; the page's 15 s auto-refresh may
    // have been under way when the recording began, or run again while the page loaded)
    const last = asked.paths.slice(asked.paths.lastIndexOf(`/v1/models/${MODEL}`));
    const times = (path: string) => last.filter((p) => p === path).length;
    // the 12 windows of the last hour: two series requests of six windows each, for the drift
    // and for each of the two live versions' stats, not a request per window
    const counted = { series: times("/v1/drift/series"), drift: times("/v1/drift"), statsSeries: times("/v1/stats/series"), all: last.length };
    expect(counted, asked.paths.join(" ")).toEqual({ series: 2, drift: 1, statsSeries: 4, all: 12 });
  });

  it("does not unlock with an admin key the collector refuses", async () => {
    await page.click("text=Unlock rollout");
    await page.fill("dialog input[name=admin]", "adm_not_a_key");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector("#banner:not([hidden])");
    expect(await page.textContent("#banner")).toMatch(/^Not unlocked: the collector refused the admin key/);
    expect(await page.locator(".actions button:enabled").count()).toBe(0);
    expect(await page.isVisible("text=Unlock rollout")).toBe(true);
    await page.click("#banner");
  });

  it("rolls the canary back with an admin key", async () => {
    await page.click("text=Unlock rollout");
    await page.fill("dialog input[name=admin]", adminKey);
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector(".actions button:enabled");
    await page.click(".actions button:text('Roll back')");
    expect(await page.textContent("dialog")).toContain("Abort the canary of v2");
    await page.click("dialog button[value=confirm]");
    await page.waitForFunction(() => document.querySelector('[data-rollout="canary"]')?.textContent === "–");
    const rollout = await collector.admin<{ canary: unknown; stable: number }>("GET", `/v1/models/${MODEL}/rollout`);
    expect(rollout).toMatchObject({ canary: null, stable: 1 });
  });

  it("rolls back to the previous stable, and offers no rollback from the first one", async () => {
    await collector.rollout(MODEL, { stable: 2 });
    await page.click("button:text-is('Refresh')");
    await page.waitForFunction(() => document.querySelector('[data-rollout="stable"]')?.textContent === "v2");
    await page.click(".actions button:text('Roll back')");
    expect(await page.textContent("dialog")).toContain("from v2 to v1, the previous stable version");
    await page.click("dialog button[value=confirm]");
    await page.waitForFunction(() => document.querySelector('[data-rollout="stable"]')?.textContent === "v1");
    expect(await page.locator(".actions button:text('Set canary…')").isEnabled()).toBe(true);
    expect(await page.locator(".actions button:text('Roll back')").isDisabled()).toBe(true);
  });

  it("changes nothing when the rollout changed since the page showed it, says so and shows the current one", async () => {
    await collector.rollout(MODEL, { stable: 2 });
    await page.click("button:text-is('Refresh')");
    await page.waitForFunction(() => document.querySelector('[data-rollout="stable"]')?.textContent === "v2");
    const shown = await collector.admin<{ configVersion: number }>("GET", `/v1/models/${MODEL}/rollout`);
    // another operator rolls back first: this page's Roll back was decided on v2
    await collector.admin("POST", `/v1/models/${MODEL}/rollback`);
    await page.click(".actions button:text('Roll back')");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector("#banner:not([hidden])");
    expect(await page.textContent("#banner")).toBe(`Change failed: the rollout changed since this page showed config version ${shown.configVersion}, so nothing was changed; here is the current one`);
    await page.waitForFunction(() => document.querySelector('[data-rollout="stable"]')?.textContent === "v1");
    expect(await collector.admin("GET", `/v1/models/${MODEL}/rollout`)).toMatchObject({ stable: 1, configVersion: shown.configVersion + 1 });
    // a refresh that succeeds afterwards keeps the action's error; a click dismisses it
    await page.click("button:text-is('Refresh')");
    await page.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
    expect(await page.isVisible("#banner")).toBe(true);
    await page.click("#banner");
    expect(await page.isVisible("#banner")).toBe(false);
  });

  it("asks each model's drift on the fleet page once a minute, not on every refresh", async () => {
    const tab = await browser.context.newPage();
    try {
      await tab.clock.install();
      const asked = apiPaths(tab);
      await tab.goto(`${collector.url}/dashboard#/`);
      await tab.locator(`tr[data-model="${MODEL}"]`).waitFor();
      const drifts = () => asked.paths.filter((p) => p === "/v1/drift").length;
      const refreshes = () => asked.paths.filter((p) => p === "/v1/models").length;
      expect([refreshes(), drifts()]).toEqual([1, 1]);
      /** One auto-refresh (every 15 s), waited for. */
      const tick = async () => {
        const before = refreshes();
        await tab.clock.runFor(15_000);
        await expect.poll(refreshes).toBe(before + 1);
        await tab.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
      };
      // three within the minute: the list again, the verdict kept
      for (let i = 0; i < 3; i++) await tick();
      expect([refreshes(), drifts()]).toEqual([4, 1]);
      // past the minute: asked again, once
      for (let i = 0; i < 2; i++) await tick();
      expect([refreshes(), drifts()]).toEqual([6, 2]);
      asked.stop();
    } finally {
      await tab.close();
    }
  });

  it("keeps keyboard focus on a button the auto-refresh rebuilds", async () => {
    const tab = await browser.context.newPage();
    try {
      await tab.clock.install();
      await tab.goto(`${collector.url}/dashboard#/model/${MODEL}`);
      const canary = tab.locator(".actions button:text('Set canary…')");
      await canary.waitFor();
      await canary.focus();
      const before = await tab.evaluateHandle(() => document.activeElement);
      await tab.clock.runFor(16_000);
      // the refresh rebuilt the buttons: another element, the same control, still focused
      await tab.waitForFunction((old) => document.activeElement !== old && document.activeElement?.textContent === "Set canary…", before);
    } finally {
      await tab.close();
    }
  });

  it("shows how a shadow agrees with the stable version", async () => {
    await collector.rollout(MODEL, { stable: 1, shadow: { version: 2, sampleRate: 1 } });
    const ingest = await collector.ingestKey();
    // ten clients, each from its own address, whose shadow agreed on 19 of 20 rows
    for (let i = 0; i < 10; i++) {
      const start = Date.now() - 60_000;
      const shadow: Report = {
        id: `dash-shadow-${i}`,
        model: MODEL,
        version: 1,
        role: "shadow",
        client: `shadow-${i}`,
        start,
        end: start + 5_000,
        segment: {},
        rows: 0,
        sampleRate: 1,
        features: {},
        shadow: { version: 2, rows: 20, agree: 19 },
      };
      expect(await collector.sendReports(ingest, [shadow], `203.0.113.${i + 1}`)).toEqual([shadow.id]);
    }
    await collector.admin("POST", `/v1/reports/flush?model=${MODEL}`);
    await page.click("button:text-is('Refresh')");
    await page.waitForSelector('[data-rollout="agreement with v1"]');
    expect(await page.textContent('[data-rollout="agreement with v1"]')).toBe("same class on 95.0 % of 200 rows (94.4–100.0 % without the heaviest sender)");
  });

  it("says on every panel that a model does not exist, rather than loading for ever", async () => {
    await page.evaluate(() => (location.hash = "#/model/no-such-model"));
    await page.waitForFunction(() => document.querySelectorAll(".panel-body .note-error").length === 7);
    expect(await page.locator(".panel-body .note-loading").count()).toBe(0);
    expect(await page.textContent(".panel-body .note-error")).toBe('no model "no-such-model"');
  });

  it("signs out", async () => {
    await page.click("text=Sign out");
    expect(await page.isVisible("#read-key")).toBe(true);
    expect(await page.isVisible("#toolbar")).toBe(false);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });
});
