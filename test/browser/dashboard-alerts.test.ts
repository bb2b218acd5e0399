// The dashboard's alerts panel in headless Chromium against a real local collector: a model's
// conditions, its objectives against what was measured with the error budget, read-only with a
// read key, edited and saved with an admin key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { signInToDashboard } from "./harness/dashboard.ts";
import { latencyReport } from "../fixtures/latency-report.ts";
import { churnModel } from "../fixtures/runtime-models.ts";

const MODEL = "dashalerts";
const HOOK = "https://hooks.example.com/services/T0/B0/secret";

describe("dashboard alerts panel", () => {
  let collector: TestCollector;
  let browser: TestBrowser;
  let page: Page;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    [collector, browser] = await Promise.all([startTestCollector(), launchBrowser()]);
    const v1 = churnModel(MODEL);
    await collector.publish(v1.bytes, v1.manifest);
    await collector.rollout(MODEL, { stable: 1 });
    await collector.admin("PUT", `/v1/models/${MODEL}/alerts`, { webhook: HOOK, datasetDrift: 0.5, latencyP95Ms: 20, windowMinutes: 30 });
    const key = async (role: string) => (await collector.admin<{ token: string }>("POST", "/v1/keys", { app: "test", role })).token;
    [readKey, adminKey] = [await key("read"), await key("admin")];
    // 100 wasm calls of the last minutes: 10 of them over the 20 ms objective
    const report = latencyReport({ id: "dash-alerts-1", model: MODEL, version: 1 }, [
      [10, 40],
      [90, 5],
    ]);
    const ingest = await collector.ingestKey();
    expect(await collector.sendReports(ingest, [report])).toEqual(["dash-alerts-1"]);
    await collector.admin("POST", `/v1/reports/flush?model=${MODEL}`);
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  const openModel = async (read: string, admin = "") => {
    await signInToDashboard(page, collector.url, read, admin);
    await page.click(`a[href="#/model/test/${MODEL}"]`);
    await page.waitForSelector('[data-condition="latencyP95Ms"]');
  };

  it("shows the conditions and each objective against its measured value, read-only with a read key", async () => {
    await openModel(readKey);
    expect(await page.textContent('[data-condition="datasetDrift"]')).toBe("share of drifted features ≥ 0.5");
    // a read key sees the webhook's origin only
    expect(await page.textContent('[data-condition="webhook"]')).toBe("https://hooks.example.com/…");
    const row = page.locator('tr[data-objective="latency_p95"][data-subject="backend:wasm"]');
    await row.waitFor();
    expect(await row.getAttribute("data-met")).toBe("false");
    // 10 % of calls over 20 ms against an allowed 5 %: the budget is overspent twice, all by the
    // one client that reported, whom the alerts leave out
    expect(await row.locator("td").allTextContents()).toEqual(["p95 latency", "backend:wasm", "20 ms", "40 ms", "breached no alert", "-100 %"]);
    expect(await row.locator("td .muted").getAttribute("title")).toMatch(/^met, or without data, once the heaviest sender's calls are left out/);
    expect(await page.locator("text=Judged every minute over the last 30 min").count()).toBe(1);
    expect(await page.isDisabled(".alert-actions button:text('Edit alerts…')")).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator("section[aria-labelledby=h-alerts-and-objectives]").screenshot({ path: `${process.env.DASHBOARD_SCREENSHOT_DIR ?? "/tmp"}/dashboard-alerts.png` });
  });

  it("edits every condition with an admin key and saves it, the webhook kept whole", async () => {
    await openModel(readKey, adminKey);
    await page.click(".alert-actions button:text('Edit alerts…')");
    // with an admin key the form holds the whole webhook, so saving keeps it
    expect(await page.inputValue("dialog input[name=webhook]")).toBe(HOOK);
    await page.fill("dialog input[name=datasetDrift]", "");
    await page.fill("dialog input[name=errorRate]", "0.02");
    await page.fill("dialog input[name=latencyP99Ms]", "80");
    await page.fill("dialog input[name=featureDrift]", "tenure, plan");
    await page.fill("dialog input[name=confirmK]", "2");
    await page.fill("dialog input[name=confirmM]", "3");
    await page.uncheck("dialog input[name=autoRollback]");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector('[data-condition="errorRate"]');
    expect(await page.locator('[data-condition="datasetDrift"]').count()).toBe(0);
    expect(await page.textContent('[data-condition="featureDrift"]')).toBe("drift of tenure, plan");
    await page.waitForSelector('tr[data-objective="latency_p99"][data-subject="backend:wasm"]');
    const stored = await collector.admin<Record<string, unknown>>("GET", `/v1/models/${MODEL}/alerts`);
    expect(stored).toMatchObject({
      webhook: HOOK,
      errorRate: 0.02,
      latencyP95Ms: 20,
      latencyP99Ms: 80,
      featureDrift: ["tenure", "plan"],
      confirm: { k: 2, m: 3 },
      autoRollback: false,
      windowMinutes: 30,
    });
    expect(stored.datasetDrift).toBeUndefined();
  });

  it("keeps a feature name holding a comma through an edit, quoted as in CSV, and one holding a line break", async () => {
    // the churn model with its `charges` feature named "price, usd", its `age` "age\nin years" (a
    // text input drops line breaks from what it shows)
    const commas = `${MODEL}-commas`;
    const v1 = churnModel(commas);
    v1.manifest.features.find((f) => f.name === "charges")!.name = "price, usd";
    v1.manifest.features.find((f) => f.name === "age")!.name = "age\nin years";
    const { charges, age, ...others } = v1.manifest.profile.features;
    v1.manifest.profile.features = { ...others, "price, usd": charges!, "age\nin years": age! };
    await collector.publish(v1.bytes, v1.manifest);
    await collector.rollout(commas, { stable: 1 });
    const names = ["price, usd", "tenure", "age\nin years"];
    await collector.admin("PUT", `/v1/models/${commas}/alerts`, { featureDrift: names, windowMinutes: 30 });
    await page.goto(`${collector.url}/dashboard/#/model/test/${commas}`);
    await page.waitForSelector('[data-condition="featureDrift"]');
    expect(await page.textContent('[data-condition="featureDrift"]')).toBe('drift of "price, usd", tenure, age\nin years');
    await page.click(".alert-actions button:text('Edit alerts…')");
    expect(await page.inputValue("dialog input[name=featureDrift]")).toBe('"price, usd", tenure, agein years');
    // another field changed, so the save shows: the names go back as stored
    await page.fill("dialog input[name=windowMinutes]", "45");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector("dialog", { state: "hidden" });
    const stored = async () => collector.admin<{ featureDrift: string[]; windowMinutes: number }>("GET", `/v1/models/${commas}/alerts`);
    await expect.poll(async () => (await stored()).windowMinutes).toBe(45);
    expect((await stored()).featureDrift).toEqual(names);
    await openModel(readKey, adminKey);
  });

  it("shows the API's refusal of a change", async () => {
    await page.click(".alert-actions button:text('Edit alerts…')");
    await page.fill("dialog input[name=webhook]", "http://127.0.0.1:9/hook");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector("#banner:not([hidden])");
    expect(await page.textContent("#banner")).toMatch(/loopback address, not a public one/);
    expect((await collector.admin<{ webhook: string }>("GET", `/v1/models/${MODEL}/alerts`)).webhook).toBe(HOOK);
  });

  it("lists the error budget period only beside an objective it is the period of", async () => {
    expect(await page.textContent('[data-condition="sloPeriodDays"]')).toBe("30 days");
    // drift alone: the stored default period read as a condition watched
    await collector.admin("PUT", `/v1/models/${MODEL}/alerts`, { webhook: HOOK, featureDrift: ["tenure"], windowMinutes: 30 });
    await page.reload();
    await page.waitForSelector('[data-condition="featureDrift"]');
    expect(await page.locator('[data-condition="sloPeriodDays"]').count()).toBe(0);
  });
});
