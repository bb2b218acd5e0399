// The dashboard in headless Chromium against a real local collector, used as a careful user
// would: keys revoked while the page is open, a collector that fails or never answers a request,
// pickers changed faster than the collector answers, the keyboard alone, long and hostile names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { Report } from "../../protocol/schema/report.ts";
import { CategoricalSketch, NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { runScheduled } from "../../scripts/lib/collector-process.mjs";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { signInToDashboard } from "./harness/dashboard.ts";
import { PLANS, churnModel, churnRows, wideModel, wideRow } from "../fixtures/runtime-models.ts";

const MODEL = "edge";
/** A model whose publisher and clients chose hostile, long, right-to-left and emoji names. */
const NAMES = "names";
const HOSTILE = "<img src=x onerror=alert(1)>";
/** A feature name of 120 characters, none a place to break a line. */
const LONG = `${"ﷺ".repeat(10)}${"x".repeat(100)}🚀🚀`.slice(0, 120);
const CATEGORIES = [HOSTILE, "مرحبا‏بالعالم‏مرحبا‏بالعالم", "🚀".repeat(40), "a".repeat(128)];
const NAMES_SHAPE = { numeric: 3, categorical: 2, categories: CATEGORIES };
/** The fixture's feature names as this publisher renamed them. */
const RENAMED: Record<string, string> = { n0: LONG, c0: HOSTILE };

/** A client's report of {@link NAMES}: the long-named feature moved out of its range, half the categories unseen, a 64-character segment value. */
function namesReport(client: number): Report {
  const features: Record<string, string> = {};
  for (let f = 0; f < NAMES_SHAPE.numeric; f++) {
    const sketch = new NumericSketch();
    for (let i = 0; i < 100; i++) sketch.update((wideRow(NAMES_SHAPE, i)[`n${f}`] as number) + (f === 0 ? 5000 : 0));
    features[RENAMED[`n${f}`] ?? `n${f}`] = toBase64(sketch.encode());
  }
  for (let f = 0; f < NAMES_SHAPE.categorical; f++) {
    const sketch = new CategoricalSketch(CATEGORIES);
    for (let i = 0; i < 100; i++) sketch.update(i % 2 ? `${HOSTILE}-unseen-${i % 5}` : CATEGORIES[(i + f) % CATEGORIES.length]!);
    features[RENAMED[`c${f}`] ?? `c${f}`] = toBase64(sketch.encode());
  }
  const start = Date.now() - 60_000;
  const segment = { backend: HOSTILE, region: "R".repeat(64) };
  return { id: `names-${client}`, model: NAMES, version: 1, role: "live", client: `names-${client}`, start, end: start + 5_000, segment, rows: 100, sampleRate: 1, features };
}
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
  const openModel = async (model = MODEL) => {
    await page.evaluate((m) => (location.hash = `#/model/test/${m}`), model);
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
    const names = wideModel(NAMES, NAMES_SHAPE);
    names.manifest.features = names.manifest.features.map((f) => ({ ...f, name: RENAMED[f.name] ?? f.name }));
    names.manifest.profile.features = Object.fromEntries(Object.entries(names.manifest.profile.features).map(([name, p]) => [RENAMED[name] ?? name, p]));
    await collector.publish(names.bytes, names.manifest);
    await collector.rollout(NAMES, { stable: 1 });
    // every feature watched: the alerts' texts name them
    await collector.admin("PUT", `/v1/models/${NAMES}/alerts`, { featureDrift: ["*"], windowMinutes: 30, minRows: 10 });
    for (let c = 1; c <= 4; c++) expect(await collector.sendReports(ingest, [namesReport(c)], `203.0.113.${c}`)).toEqual([`names-${c}`]);
    await collector.admin("POST", `/v1/reports/flush?model=${NAMES}`);
    // judged by the cron: its evaluators may answer after it returns
    const firing = async () => (await collector.admin<{ alerts: unknown[] }>("GET", `/v1/alerts?state=firing&model=${NAMES}`)).alerts.length;
    for (let tries = 0; (await firing()) === 0; tries++) {
      if (tries === 30) throw new Error(`no alert of ${NAMES} fired`);
      await runScheduled(collector.url);
      await new Promise((r) => setTimeout(r, 2_000));
    }
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

  it("says an admin key could not be checked, not that it was refused, when the collector cannot be reached", async () => {
    await signIn(readKey);
    await openModel();
    await page.route(
      (url) => url.pathname === "/v1/keys",
      (route) => route.abort("connectionreset"),
    );
    try {
      await page.click("button:text-is('Unlock rollout')");
      await page.fill("dialog input[name=admin]", (await key("admin")).token);
      await page.click("dialog button[value=confirm]");
      await page.waitForSelector("#banner:not([hidden])");
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    expect(await page.textContent("#banner")).toMatch(/^Not unlocked: the admin key could not be checked \(.+\); try again/);
    expect(await page.isVisible("button:text-is('Unlock rollout')")).toBe(true);
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

  it("keeps a phone's page within its width, however long the names publishers and clients chose", async () => {
    await signIn(readKey);
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      await openModel(NAMES);
      await page.waitForSelector("li.alert-firing");
      // every element of a panel within it, but what scrolls on purpose (tables, heatmaps, charts)
      const outside = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>(".panel *")]
          .filter((el) => !el.closest(".table-wrap, .heatmap-wrap, .chart-scroll"))
          // the element, or its text
          .filter((el) => el.getBoundingClientRect().right > el.closest(".panel")!.getBoundingClientRect().right + 1 || el.scrollWidth > el.clientWidth + 1)
          .map((el) => `${el.tagName.toLowerCase()}: ${el.textContent!.slice(0, 30)}`),
      );
      expect(outside).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // and the text stayed text
      expect(await page.locator("main img").count()).toBe(0);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("shows every feature's name beside its row of the heatmap, however long another's", async () => {
    await signIn(readKey);
    await openModel(NAMES);
    await page.waitForSelector("td[data-feature]");
    // the heatmap opens on its newest windows: each row's name must still be in view
    const hidden = await page.evaluate(() => {
      const wrap = document.querySelector(".heatmap-wrap")!.getBoundingClientRect();
      return [...document.querySelectorAll<HTMLElement>(".heatmap tbody th")].filter((th) => th.getBoundingClientRect().left < wrap.left - 1).map((th) => th.textContent!.slice(0, 30));
    });
    expect(hidden).toEqual([]);
  });

  it("cuts a long category name on a chart's axis between characters, never inside an emoji", async () => {
    await signIn(readKey);
    await openModel(NAMES);
    await page.selectOption("select:near(:text('feature'))", HOSTILE);
    const labels = await page.locator(`[data-distribution="${HOSTILE}"] svg .axis text`).allTextContents();
    // a UTF-16 cut splits an emoji's pair of code units: the half left shows as "�"
    const halfPair = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(labels.filter((label) => halfPair.test(label))).toEqual([]);
    expect(labels).toContain(`${"🚀".repeat(13)}…`);
  });

  it("stays on the page the user went to when an old link's model answers after they left it", async () => {
    await signIn(readKey);
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
    await settled();
    await page.route(
      (url) => url.pathname === `/v1/models/${MODEL}`,
      async (route) => {
        await new Promise((r) => setTimeout(r, 1_500));
        await route.continue();
      },
    );
    try {
      // an old link, which names no app: its page learns the app from the model's answer
      const asked = page.waitForRequest((req) => new URL(req.url()).pathname === `/v1/models/${MODEL}`);
      await page.evaluate((m) => (location.hash = `#/model/${m}`), MODEL);
      await asked;
      await page.click("a.brand");
      await page.waitForTimeout(2_500);
      await settled();
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    expect(await page.evaluate(() => location.hash)).toBe("#/");
    expect(await page.isVisible("h1:text-is('Fleet')")).toBe(true);
  });

  it("shows the page the user went to while the collector has not answered the page they left, whose reads it abandons", async () => {
    await signIn(readKey);
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
    await settled();
    // the fleet's next list of models does not come (a slow collector)
    let holding = true;
    await page.route(
      (url) => url.pathname === "/v1/models",
      (route) => (holding ? undefined : route.continue()),
    );
    try {
      const asked = page.waitForRequest((req) => new URL(req.url()).pathname === "/v1/models");
      await page.click("button:text-is('Refresh')");
      const held = await asked;
      holding = false;
      const abandoned = page.waitForEvent("requestfailed", (req) => req === held);
      await page.evaluate((m) => (location.hash = `#/model/test/${m}`), MODEL);
      await Promise.all([page.waitForSelector('[data-rollout="stable"]', { timeout: 10_000 }), abandoned]);
      await settled();
    } finally {
      await page.unrouteAll({ behavior: "ignoreErrors" });
    }
    expect(await page.isHidden("#banner")).toBe(true);
    expect(await page.evaluate(() => location.hash)).toBe(`#/model/test/${MODEL}`);
  });

  it("gives up on a request the collector never answers, says so, and refreshes again after", async () => {
    await signIn(readKey);
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
    const tab = await browser.context.newPage();
    try {
      await tab.clock.install();
      // the first two lists of models never come (a collector stuck, a proxy holding the connection)
      let asked = 0;
      await tab.route(
        (url) => url.pathname === "/v1/models",
        (route) => (asked++ < 2 ? undefined : route.continue()),
      );
      await tab.goto(`${collector.url}/dashboard#/`);
      await expect.poll(() => asked).toBe(1);
      await tab.clock.runFor(31_000);
      await tab.waitForSelector("#banner:not([hidden])", { timeout: 10_000 });
      expect(await tab.textContent("#banner")).toBe("the collector did not answer within 30 s");
      await tab.clock.runFor(31_000);
      await tab.waitForSelector(`tr[data-model="${MODEL}"]`, { timeout: 10_000 });
      await tab.waitForSelector("#banner", { state: "hidden" });
      expect(asked).toBeGreaterThan(2);
    } finally {
      await tab.close();
    }
  });

  it("keeps the range chosen through a reload", async () => {
    await signIn(readKey);
    await openModel();
    await page.selectOption("select:near(:text('range'))", "24h");
    await settled();
    await page.reload();
    await page.waitForSelector("td[data-feature]");
    await settled();
    expect(await page.inputValue("select:near(:text('range'))")).toBe("24h");
    expect(await page.locator(".heatmap-wrap").first().locator("thead th").count()).toBe(1 + 24);
    await page.selectOption("select:near(:text('range'))", "1h");
  });

  it("keeps the version and role chosen through a reload, and forgets a version the model no longer has", async () => {
    await signIn(readKey);
    await openModel();
    await page.selectOption("select:near(:text('version'))", "1");
    await page.selectOption("select:near(:text('role'))", "shadow");
    await settled();
    await page.reload();
    await page.waitForSelector("select:near(:text('version'))");
    await settled();
    expect([await page.inputValue("select:near(:text('version'))"), await page.inputValue("select:near(:text('role'))")]).toEqual(["1", "shadow"]);
    // a selection kept for a version that is gone (or was never there) reads the stable one
    const href = await page.evaluate(() => location.hash);
    await page.evaluate((hash) => sessionStorage.setItem(`driftline.choice:${hash}`, JSON.stringify({ version: "99", role: "live", segment: "" })), href);
    await page.reload();
    await page.waitForSelector("td[data-feature]");
    expect(await page.inputValue("select:near(:text('version'))")).toBe("");
    await page.evaluate((hash) => sessionStorage.removeItem(`driftline.choice:${hash}`), href);
  });

  it("says in a panel that it could not load, rather than loading for ever, when its request fails", async () => {
    await signIn(readKey);
    await page.waitForSelector(`tr[data-model="${MODEL}"]`);
    await settled();
    await page.route(
      (url) => url.pathname === "/v1/drift/series",
      (route) => route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "internal", message: "D1 is overloaded" } }) }),
    );
    try {
      await page.evaluate((m) => (location.hash = `#/model/test/${m}`), MODEL);
      await page.waitForSelector('[data-rollout="stable"]');
      await settled();
      const drift = page.locator("section[aria-labelledby=h-drift] .panel-body");
      expect(await drift.textContent()).toBe("Could not load: D1 is overloaded");
      expect(await page.locator(".panel-body .note-loading").count()).toBe(0);
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    // the next refresh that reads it shows it
    await page.click("button:text-is('Refresh')");
    await page.waitForSelector("td[data-feature]");
  });

  it("tells an app with no models yet how to publish one, in words rather than Markdown", async () => {
    const other = await collector.admin<{ token: string }>("POST", "/v1/keys", { app: "other", role: "read" });
    await signIn(other.token);
    const models = page.locator("section[aria-labelledby=h-models] .panel-body");
    await models.locator(".note-empty").waitFor();
    expect(await models.textContent()).toBe("No models yet: publish one with driftline publish.");
    expect(await models.locator("code").textContent()).toBe("driftline publish");
  });

  it("keeps the sign-in form's admin key when the collector could not be asked about it", async () => {
    const admin = await key("admin");
    // the check of the key meets a network failure, not a refusal
    await page.route(
      (url) => url.pathname === "/v1/keys",
      (route) => route.abort("connectionreset"),
    );
    try {
      await signIn(readKey, admin.token);
      await page.waitForSelector(`tr[data-model="${MODEL}"]`);
      await settled();
    } finally {
      await page.unrouteAll({ behavior: "wait" });
    }
    expect(await page.isVisible(".badge-admin")).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem("driftline.adminKey"))).toBe(admin.token);
  });
});
