// The dashboard in headless Chromium against a real local collector holding two apps that each
// have a model named "shared": names are unique per app, not overall, so a key that sees both
// apps (the bootstrap key) must name the app on every model request, and a read key of one app
// sees only its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { runScheduled } from "../../scripts/lib/collector-process.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { signInToDashboard } from "./harness/dashboard.ts";
import { latencyReport } from "../fixtures/latency-report.ts";
import { churnModel } from "../fixtures/runtime-models.ts";

const NAME = "shared";

describe("dashboard of two apps with a model of the same name", () => {
  let collector: TestCollector;
  let browser: TestBrowser;
  let page: Page;
  let alphaRead: string;

  beforeAll(async () => {
    [collector, browser] = await Promise.all([startTestCollector(), launchBrowser()]);
    // alpha: one version; beta: two, the second stable, with calls reported for it
    const alpha = churnModel(NAME);
    const beta = [churnModel(NAME, 1), churnModel(NAME, 2, {}, [16])];
    await collector.publish(alpha.bytes, alpha.manifest, "alpha");
    for (const v of beta) await collector.publish(v.bytes, v.manifest, "beta");
    await collector.admin("PUT", `/v1/models/${NAME}/rollout?app=beta`, { stable: 2 });
    const ingest = await collector.ingestKey("beta");
    const calls = { ...latencyReport({ id: "apps-beta-1", model: NAME, version: 2 }, [[50, 4]]), segment: { backend: "wasm" } };
    expect(await collector.sendReports(ingest, [calls])).toEqual(["apps-beta-1"]);
    await collector.admin("POST", `/v1/reports/flush?model=${NAME}&app=beta`);
    alphaRead = (await collector.admin<{ token: string }>("POST", "/v1/keys", { app: "alpha", role: "read" })).token;
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.stop();
  });

  const signIn = (read: string, admin = "") => signInToDashboard(page, collector.url, read, admin);

  /** Waits for the page's refresh to end; what the banner then says, null when it is hidden. */
  const settled = async (): Promise<string | null> => {
    await page.waitForFunction(() => !document.getElementById("main")!.hasAttribute("aria-busy"));
    return (await page.isVisible("#banner")) ? page.textContent("#banner") : null;
  };

  /** Goes to `hash` and waits for the view's refresh; what the banner then says. */
  const open = async (hash: string) => {
    // the dashboard's own hashchange listener, added first, has routed when this one runs
    await page.evaluate((h) => new Promise<void>((done) => (addEventListener("hashchange", () => done(), { once: true }), (location.hash = h))), hash);
    return settled();
  };

  const versions = () => page.locator("section[aria-labelledby=h-versions] tbody th").allTextContents();

  it("signed in with the bootstrap key (ADMIN_TOKEN) as the read key, lists both apps' models and judges each one's drift", async () => {
    await signIn(collector.adminKey);
    expect(await settled()).toBeNull();
    expect(await page.locator(`tr[data-model="${NAME}"]`).count()).toBe(2);
    // beta's reports hold no features: judged, and not drifted
    for (const [app, stable, latest, drift] of [
      ["alpha", "v1", "v1", "no traffic"],
      ["beta", "v2", "v2", "no drift"],
    ] as const) {
      const row = page.locator(`tr[data-app="${app}"][data-model="${NAME}"]`);
      expect(await row.locator("a").getAttribute("href")).toBe(`#/model/${app}/${NAME}`);
      const cells = await row.locator("td").allTextContents();
      expect([cells[0], cells[1], cells[5], cells.at(-1)]).toEqual([app, stable, latest, drift]);
    }
  });

  it("opens each app's model from its fleet row, every request naming the app", async () => {
    const asked: URL[] = [];
    const record = (req: { url(): string }) => asked.push(new URL(req.url()));
    page.on("request", record);
    await page.click(`a[href="#/model/beta/${NAME}"]`);
    await page.waitForSelector('[data-rollout="stable"], .panel-body .note-error');
    expect(await settled()).toBeNull();
    page.off("request", record);
    // but the fleet's, should its auto-refresh have run meanwhile
    const apis = asked.filter((u) => u.pathname.startsWith("/v1/") && u.pathname !== "/v1/models" && u.searchParams.get("state") !== "firing");
    expect(apis.length).toBeGreaterThan(5);
    for (const u of apis) expect(u.searchParams.get("app"), `${u.pathname}${u.search}`).toBe("beta");
    expect(await page.textContent('[data-rollout="stable"]')).toBe("v2");
    expect(await versions()).toEqual(["v2", "v1"]);
    expect(await page.textContent(".crumbs")).toBe("Fleet / beta / ");
    // beta's calls, not alpha's silence
    await page.waitForSelector('[data-version="2"] [data-backend="wasm"] .line path', { state: "attached" });
    expect(await open(`#/model/alpha/${NAME}`)).toBeNull();
    expect(await page.textContent('[data-rollout="stable"]')).toBe("v1");
    expect(await versions()).toEqual(["v1"]);
    expect(await page.locator("[data-backend=wasm]").count()).toBe(0);
  });

  it("rolls back the app's model only, with the bootstrap key as the admin key", async () => {
    await signIn(collector.adminKey, collector.adminKey);
    await settled();
    await page.click(`a[href="#/model/beta/${NAME}"]`);
    await page.waitForSelector(".actions button:text('Roll back'):enabled");
    await page.click(".actions button:text('Roll back')");
    await page.click("dialog button[value=confirm]");
    await page.waitForFunction(() => document.querySelector('[data-rollout="stable"]')?.textContent === "v1");
    expect(await settled()).toBeNull();
    const rollout = (app: string) => collector.admin<{ stable: number; configVersion: number }>("GET", `/v1/models/${NAME}/rollout?app=${app}`);
    expect(await rollout("beta")).toMatchObject({ stable: 1 });
    expect(await rollout("alpha")).toMatchObject({ stable: 1, configVersion: 1 });
  });

  it("says which apps have the name when an old #/model/<name> link does not name one", async () => {
    expect(await open(`#/model/${NAME}`)).toMatch(/^model "shared" exists in apps "alpha", "beta"/);
    expect(await page.locator(".panel-body .note-error").count()).toBe(7);
    expect(await page.locator(".panel-body .note-loading").count()).toBe(0);
  });

  it("with a read key of one app, lists that app's model only, and its pages work", async () => {
    await signIn(alphaRead);
    expect(await settled()).toBeNull();
    expect(await page.locator(`tr[data-model="${NAME}"]`).count()).toBe(1);
    await page.click(`a[href="#/model/alpha/${NAME}"]`);
    await page.waitForSelector('[data-rollout="stable"]');
    expect(await settled()).toBeNull();
    expect(await versions()).toEqual(["v1"]);
    // an old link is its app's model, and the address then names the app
    expect(await open("#/")).toBeNull();
    expect(await open(`#/model/${NAME}`)).toBeNull();
    expect(await versions()).toEqual(["v1"]);
    expect(await page.evaluate(() => location.hash)).toBe(`#/model/alpha/${NAME}`);
    // the other app's model is one this key does not see
    await open(`#/model/beta/${NAME}`);
    expect(await page.textContent(".panel-body .note-error")).toBe(`no model "${NAME}"`);
  });

  it("with the bootstrap key, lists each app's firing alert of the name apart, each linking to its app's model", async () => {
    // both apps' stable version 1 (beta's since the rollback) fails half its calls, in five clients' reports from five networks
    for (const app of ["alpha", "beta"]) {
      await collector.admin("PUT", `/v1/models/${NAME}/alerts?app=${app}`, { errorRate: 0.2, windowMinutes: 30, minRows: 10 });
      const ingest = await collector.ingestKey(app);
      for (let c = 1; c <= 5; c++) {
        const id = `apps-${app}-fail-${c}`;
        const report = { ...latencyReport({ id, model: NAME, version: 1 }, [[10, 5]], { session: 10 }), client: `${app}-${c}` };
        expect(await collector.sendReports(ingest, [report], `198.51.100.${c}`)).toEqual([id]);
      }
      await collector.admin("POST", `/v1/reports/flush?model=${NAME}&app=${app}`);
    }
    await runScheduled(collector.url);
    const firing = await collector.admin<{ alerts: { kind: string }[] }>("GET", "/v1/alerts?state=firing");
    expect(firing.alerts.map((a) => a.kind)).toEqual(["error_rate", "error_rate"]);
    await signIn(collector.adminKey);
    expect(await settled()).toBeNull();
    const items = page.locator('li.alert[data-kind="error_rate"]');
    expect(await items.count()).toBe(2);
    const hrefs = await items.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
    expect(hrefs.sort()).toEqual([`#/model/alpha/${NAME}`, `#/model/beta/${NAME}`]);
    // each entry names its app in its text, not only in its link
    expect((await items.allTextContents()).map((t) => t.split(" since ")[0]).sort()).toEqual([`error rate ${NAME} v1 in alpha`, `error rate ${NAME} v1 in beta`]);
  });
});
