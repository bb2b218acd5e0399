// The dashboard in headless Chromium against a real local collector, used as a careful user
// would: keys revoked while the page is open, a collector that fails a request, pickers changed
// faster than the collector answers, the keyboard alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { Report } from "../../protocol/schema/report.ts";
import { CategoricalSketch, NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { signInToDashboard } from "./harness/dashboard.ts";
import { PLANS, churnModel, churnRows } from "../fixtures/runtime-models.ts";

const MODEL = "edge";
const b64 = (s: { encode(): Uint8Array }) => toBase64(s.encode());

/** A report of 100 rows of `version` from `client`; `tenure` pushed to the top of its range when `drifted`. */
function report(id: string, version: number, client: string, drifted: boolean): Report {
  const tenure = new NumericSketch({ range: { min: 0, max: 100 } });
  const charges = new NumericSketch();
  const age = new NumericSketch({ range: { min: 18, max: 99 } });
  const plan = new CategoricalSketch(PLANS);
  for (const r of churnRows(100, id.length * 13)) {
    tenure.update(drifted ? 70 + (r.tenure % 30) : r.tenure);
    charges.update(r.charges);
    age.update(r.age);
    plan.update(r.plan);
  }
  const start = Date.now() - 60_000;
  return {
    id,
    model: MODEL,
    version,
    role: "live",
    client,
    start,
    end: start + 5_000,
    segment: {},
    rows: 100,
    sampleRate: 1,
    features: { tenure: b64(tenure), charges: b64(charges), age: b64(age), plan: b64(plan) },
  };
}

describe("dashboard edges", () => {
  let collector: TestCollector;
  let browser: TestBrowser;
  let page: Page;
  let readKey: string;

  /** A new key of the test app. */
  const key = async (role: string) => collector.admin<{ id: string; token: string }>("POST", "/v1/keys", { app: "test", role });
  const signIn = (read: string, admin = "") => signInToDashboard(page, collector.url, read, admin);
  /** Waits for the page's refresh under way to end. */
  const settled = () => page.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
  /** Opens the model page and waits for its rollout. */
  const openModel = async () => {
    await page.evaluate((m) => (location.hash = `#/model/test/${m}`), MODEL);
    await page.waitForSelector('[data-rollout="stable"]');
    await settled();
  };

  beforeAll(async () => {
    [collector, browser] = await Promise.all([startTestCollector(), launchBrowser()]);
    for (const seed of [0, 1]) {
      const { bytes, manifest } = churnModel(MODEL, seed);
      await collector.publish(bytes, manifest);
    }
    const ingest = await collector.ingestKey();
    // v1's traffic drifted (tenure), v2's did not: each client from its own network
    for (const version of [1, 2]) {
      await collector.rollout(MODEL, { stable: version });
      for (let c = 1; c <= 4; c++) {
        const r = report(`edge-${version}-${c}`, version, `client-${version}-${c}`, version === 1);
        expect(await collector.sendReports(ingest, [r], `198.51.100.${version * 10 + c}`)).toEqual([r.id]);
      }
    }
    await collector.admin("POST", `/v1/reports/flush?model=${MODEL}`);
    readKey = (await key("read")).token;
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it("shows the version picked last, however late the collector answers for the one picked before", async () => {
    await signIn(readKey);
    await openModel();
    const version = "select:near(:text('version'))";
    // v1's drift answers come after v2's
    await page.route(
      (url) => url.pathname === "/v1/drift/series" && url.searchParams.get("version") === "1",
      async (route) => {
        await new Promise((r) => setTimeout(r, 2_000));
        await route.continue();
      },
    );
    try {
      const asked = page.waitForRequest((req) => new URL(req.url()).searchParams.get("version") === "1");
      await page.selectOption(version, "1");
      // v1's drift is asked for: now the user picks v2
      await asked;
      await page.selectOption(version, "2");
      await page.waitForTimeout(3_000);
      await settled();
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    expect(await page.inputValue(version)).toBe("2");
    // v2's traffic: tenure never drifted
    expect(await page.locator('td[data-feature="tenure"][data-drifted="false"]').count()).toBeGreaterThan(0);
    expect(await page.locator('td[data-feature="tenure"][data-drifted="true"]').count()).toBe(0);
  });

  it("says a failed read was a failed read, not a failed change, and clears it once the collector answers again", async () => {
    const admin = await key("admin");
    await signIn(readKey, admin.token);
    await openModel();
    // the collector fails the alert configuration's read once (a restart under way)
    let failed = 0;
    await page.route(
      (url) => url.pathname === `/v1/models/${MODEL}/alerts`,
      (route) => {
        failed++;
        return route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "the collector is restarting" } }) });
      },
    );
    await page.click("button:text-is('Refresh')");
    await page.waitForSelector("#banner:not([hidden])");
    await page.unrouteAll({ behavior: "wait" });
    expect(failed).toBeGreaterThan(0);
    expect(await page.textContent("#banner")).toBe("the collector is restarting");
    await settled();
    await page.click("button:text-is('Refresh')");
    await settled();
    expect(await page.isVisible("#banner")).toBe(false);
  });

  it("locks the rollout again, saying why, when the admin key is revoked while the page is open", async () => {
    const admin = await key("admin");
    await signIn(readKey, admin.token);
    await openModel();
    await page.waitForSelector(".actions button:enabled");
    await collector.admin("DELETE", `/v1/keys/${admin.id}`);
    await page.click("button:text-is('Refresh')");
    await page.waitForSelector("#banner:not([hidden])");
    await settled();
    expect(await page.textContent("#banner")).toMatch(/^The collector refused the admin key \(.+\): the rollout buttons are locked; Unlock rollout asks for another\.$/);
    expect(await page.isVisible("button:text-is('Unlock rollout')")).toBe(true);
    expect(await page.locator(".actions button:enabled").count()).toBe(0);
    // the page reads on with the read key: the alerts panel too
    expect(await page.locator("button:text-is('Edit alerts…')").isDisabled()).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem("driftline.adminKey"))).toBeNull();
  });

  it("does not unlock the rollout with an admin key the collector refuses at sign-in", async () => {
    await signIn(readKey, "adm_not_a_key");
    await page.waitForSelector("#banner:not([hidden])");
    expect(await page.textContent("#banner")).toMatch(/^The collector refused the admin key \(.+\): the rollout buttons are locked; Unlock rollout asks for another\.$/);
    expect(await page.isVisible("button:text-is('Unlock rollout')")).toBe(true);
    await openModel();
    expect(await page.locator(".actions button:enabled").count()).toBe(0);
  });

  it("confirms a dialog with Enter in its field, as forms do", async () => {
    await signIn(readKey);
    await openModel();
    await page.click("button:text-is('Unlock rollout')");
    await page.fill("dialog input[name=admin]", "adm_not_a_key");
    await page.keyboard.press("Enter");
    // the key was checked (and refused), not the dialog cancelled
    await page.waitForSelector("#banner:not([hidden])");
    expect(await page.textContent("#banner")).toMatch(/^Not unlocked: the collector refused the admin key/);
  });

  it("dismisses an action's error with the keyboard alone", async () => {
    await signIn(readKey);
    await openModel();
    await page.click("button:text-is('Unlock rollout')");
    await page.fill("dialog input[name=admin]", "adm_not_a_key");
    await page.click("dialog button[value=confirm]");
    await page.waitForSelector("#banner:not([hidden])");
    // from the top of the page, Tab reaches a control that dismisses it
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let inBanner = false;
    for (let i = 0; i < 12 && !inBanner; i++) {
      await page.keyboard.press("Tab");
      inBanner = await page.evaluate(() => document.getElementById("banner")!.contains(document.activeElement));
    }
    expect(inBanner, "no control in the banner takes focus").toBe(true);
    await page.keyboard.press("Enter");
    expect(await page.isVisible("#banner")).toBe(false);
  });
});
