// Issue 15 item 5: prediction logging. With the model's log rate at 1 and the app's `logging`
// switch on, the real runtime (Chromium, IndexedDB) logs every row it predicts; the export of
// GET /v1/logs is exactly those rows — inputs as sent, outputs, version, segment, time — with
// the labels fed back, before and after the row left the device. With either switch off, no
// request body the page sends carries a raw input value. Logging is an optional module
// (driftline-logging.js), fetched only when the app allows logging, run only as built and kept
// in IndexedDB for pages that start without it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page, Route } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestCollector } from "./harness/collector.ts";
import { readUntil } from "./harness/poll.ts";
import { forgetKeptModule, openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";
import type { LogRow } from "../../protocol/schema/prediction-log.ts";

/** Rows with values no sketch or count could hold by chance: searched for in every body. */
const rawRows = (n: number, offset: number) => churnRows(n, offset).map((r, i) => ({ ...r, tenure: r.tenure + 0.123456789, charges: r.charges + i / 1024 + 0.000977 }));

describe("runtime: prediction logging", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let page: Page;
  let base: Record<string, unknown>;
  const bodies: { url: string; body: string }[] = [];
  /** Requests for the logging module (driftline-logging.js), imported only when logging is allowed. */
  const moduleFetches: string[] = [];

  beforeAll(async () => {
    ({ collector } = rig = await startRuntimeRig());
    const { server } = rig;
    for (const name of ["logged", "quiet"]) {
      const { bytes, manifest } = churnModel(name);
      await collector.publish(bytes, manifest);
    }
    await collector.rollout("logged", { logRate: 1 });
    base = { collector: collector.url, key: await collector.ingestKey(), ortUrl: `${server.url}/ort/`, reportIntervalMs: 3_600_000, segment: { appVersion: "4.2" } };
    page = await rig.browser.context.newPage();
    page.on("request", (req) => {
      if (req.method() === "POST" && req.url().startsWith(collector.url)) bodies.push({ url: req.url(), body: req.postData() ?? "" });
      if (req.url().endsWith("/sdk/driftline-logging.js")) moduleFetches.push(req.url());
    });
    await openRuntimePage(page, server);
  }, 120_000);

  afterAll(() => rig?.stop());

  /** Predicts `rows` (a batch, one by one and as columns), feeds labels before and after a flush; answers what predict() said. */
  const run = (options: Record<string, unknown>, rows: ReturnType<typeof rawRows>) =>
    page.evaluate(
      async ({ o, rows }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        const half = rows.length / 2;
        const batch = (await rt.predict(rows.slice(0, half) as never[])) as { id: string; label?: string; score?: number; version: string }[];
        const single = await rt.predict(rows[half] as never);
        const rest = rows.slice(half + 1);
        const columns = Object.fromEntries(["tenure", "charges", "age", "plan"].map((k) => [k, rest.map((r) => r[k as keyof typeof r])]));
        const cols = await rt.predictColumns(columns as never);
        const preds = [...batch, single, ...rest.map((_, r) => ({ id: `${cols.id}${r}`, label: cols.labels?.[cols.classes[r]!], score: cols.scores[r], version: cols.version }))];
        const labels: Record<string, string> = {};
        // labels for the first three before the rows are sent, the next three after
        for (const p of preds.slice(0, 3)) rt.feedback(p.id, (labels[p.id] = "churn"));
        await rt.flush();
        for (const p of preds.slice(3, 6)) rt.feedback(p.id, (labels[p.id] = "stay"));
        await rt.close();
        return { preds, labels, backend: rt.backend };
      },
      { o: { ...base, ...options }, rows },
    );

  /** What `GET /v1/logs` exports for a model: its rows, and the rows devices said they dropped. */
  const exportOf = async (model: string): Promise<{ rows: LogRow[]; dropped: number }> => {
    const res = await fetch(`${collector.url}/v1/logs?model=${model}&app=test`, { headers: { authorization: `Bearer ${collector.adminKey}` } });
    expect(res.status).toBe(200);
    const rows = (await res.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogRow);
    return { rows, dropped: Number(res.headers.get("Driftline-Dropped")) };
  };
  /** Every row `GET /v1/logs` exports for a model. */
  const exported = async (model: string): Promise<LogRow[]> => (await exportOf(model)).rows;

  it("logs every row at rate 1: the export is exactly the rows predicted, with the labels fed back", async () => {
    const rows = rawRows(20, 3);
    const before = Date.now();
    const { preds, labels, backend } = await run({ model: "logged", logging: true }, rows);
    const out = await exported("logged");
    expect(out.map((r) => r.id).sort()).toEqual(preds.map((p) => p.id).sort());
    const byId = new Map(out.map((r) => [r.id, r]));
    preds.forEach((p, i) => {
      const row = byId.get(p.id)!;
      expect(row.inputs).toEqual(rows[i]);
      expect(row).toMatchObject({ version: Number(p.version), label: p.label, segment: { appVersion: "4.2", backend: backend.name } });
      expect(row.score).toBeCloseTo(p.score!, 12);
      expect(row.t).toBeGreaterThanOrEqual(before);
      expect(row.actual).toBe(labels[p.id]);
    });
    expect(Object.keys(labels)).toHaveLength(6);
  });

  for (const [name, model, logging] of [
    ["the app does not allow logging", "logged", false],
    ["the model has no log rate", "quiet", true],
  ] as const) {
    it(`sends no raw value when ${name}`, async () => {
      bodies.length = 0;
      moduleFetches.length = 0;
      const rows = rawRows(10, 50);
      await run({ model, logging }, rows);
      // the logging module is fetched only when the app allows logging
      if (!logging) expect(moduleFetches).toEqual([]);
      expect(bodies.some((b) => b.url.includes("/v1/reports"))).toBe(true);
      expect(bodies.filter((b) => b.url.includes("/v1/logs"))).toEqual([]);
      const all = bodies.map((b) => b.body).join("\n");
      for (const r of rows) for (const v of [r.tenure, r.charges]) expect(all).not.toContain(String(v));
    });
  }

  it("keeps rows logged while the collector is down across a reload, and sends each once when it is back", async () => {
    const start = () =>
      page.evaluate(
        async (o) => {
          window.rt = await window.Driftline.createRuntime(o as never);
        },
        { ...base, model: "logged", logging: true },
      );
    // once online, so the assignment (with its log rate) and the model are cached
    await start();
    await page.evaluate(() => window.rt.close());
    await collector.pause();
    await start();
    const rows = rawRows(12, 200);
    const ids = await page.evaluate(async (r) => ((await window.rt.predict(r as never[])) as { id: string }[]).map((p) => p.id), rows);
    await page.evaluate(() => window.rt.flush()); // the collector is down: the batch stays in IndexedDB
    await openRuntimePage(page, rig!.server);
    await collector.resume();
    await start();
    await page.evaluate(() => window.rt.close());
    const out = (await exported("logged")).filter((r) => ids.includes(r.id));
    expect(out.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(out.map((r) => r.inputs)).toEqual(rows);
  });

  it("a tab closed while rows and a dropped count wait saved in IndexedDB (the collector down) beacons only what no save holds: exported + dropped = logged", async () => {
    const model = "logged-saved";
    const { bytes, manifest } = churnModel(model);
    await collector.publish(bytes, manifest);
    await collector.rollout(model, { logRate: 1 });
    const start = (p: Page) =>
      p.evaluate(
        async (o) => {
          window.rt = await window.Driftline.createRuntime(o as never);
        },
        { ...base, model, logging: true },
      );
    const tab = await rig!.browser.context.newPage();
    await openRuntimePage(tab, rig!.server);
    await start(tab);
    await tab.evaluate(() => window.rt.close());
    await collector.pause();
    await start(tab);
    const predict = (n: number, offset: number) => tab.evaluate((r) => window.rt.predict(r as never[]).then(() => {}), rawRows(n, offset));
    // the collector is down: the first rows' batch stays in flight; past the LOG_CAPACITY (1,000)
    // rows that may wait beside it, 20 are dropped; rows and count are saved by the next flush
    await predict(12, 400);
    await tab.evaluate(() => window.rt.flush());
    await predict(1_020, 500);
    await tab.evaluate(() => window.rt.flush());
    // it is back as the tab closes: the tab's beacons reach it. The writes begun as it closes never
    // finish (as where Chromium's process for the tab goes first; a capturing listener runs before the runtime's)
    await collector.resume();
    await tab.evaluate(() => addEventListener("pagehide", () => void (IDBObjectStore.prototype.put = () => ({}) as IDBRequest), { capture: true }));
    await tab.close({ runBeforeUnload: true });
    await readUntil(
      () => exportOf(model),
      ({ rows }) => rows.length >= 12,
    );
    // the next page sends what the store holds
    await openRuntimePage(page, rig!.server);
    await start(page);
    await page.evaluate(() => window.rt.close());
    const got = await exportOf(model);
    expect(got.rows.length).toBe(1_012);
    expect(got.rows.length + got.dropped).toBe(1_032);
  });

  /**
   * On a fresh page whose `/sdk/driftline-logging.js` requests `answer` handles (and, unless
   * `kept`, without the module's kept copy): starts a logging runtime, predicts `rows` and closes;
   * says how many predictions came back, the error events, and whether the served bytes ran (they
   * set `globalThis.hijacked`).
   */
  const withLoggingModule = async (answer: (route: Route) => void, options: Record<string, unknown>, rows: ReturnType<typeof rawRows>, kept = false) => {
    await openRuntimePage(page, rig!.server);
    if (!kept) await forgetKeptModule(page, "logging");
    await page.route("**/sdk/driftline-logging.js", answer);
    bodies.length = 0;
    const result = await page.evaluate(
      async ({ o, rows }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        const errors: string[] = [];
        rt.on("error", (e) => errors.push((e as { code: string }).code));
        const predicted = ((await rt.predict(rows as never[])) as unknown[]).length;
        await rt.close();
        return { predicted, errors, hijacked: (globalThis as { hijacked?: boolean }).hijacked === true };
      },
      { o: { ...base, model: "logged", logging: true, ...options }, rows },
    );
    await page.unroute("**/sdk/driftline-logging.js");
    return result;
  };

  it("a page that cannot reach the logging module runs the copy kept in IndexedDB, and logs", async () => {
    // a page that logged before downloaded, checked and kept the module
    await run({ model: "logged", logging: true }, rawRows(2, 150));
    const requested: Route[] = [];
    const rows = rawRows(10, 160);
    const unreachable = (route: Route) => (requested.push(route), void route.abort());
    expect(await withLoggingModule(unreachable, {}, rows, true)).toEqual({ predicted: 10, errors: [], hijacked: false });
    expect(requested).toEqual([]);
    expect((await exported("logged")).map((r) => r.inputs)).toEqual(expect.arrayContaining(rows));
  });

  it("a logging module that is not the one the runtime was built with never runs: the runtime predicts unlogged and says why", async () => {
    const rows = rawRows(10, 120);
    const tampered = (route: Route) => void route.fulfill({ contentType: "text/javascript", body: "globalThis.hijacked = true; export default () => ({});" });
    expect(await withLoggingModule(tampered, {}, rows)).toEqual({ predicted: 10, errors: ["integrity"], hijacked: false });
    expect(bodies.filter((b) => b.url.includes("/v1/logs"))).toEqual([]);
    const all = bodies.map((b) => b.body).join("\n");
    for (const r of rows) expect(all).not.toContain(String(r.tenure));
  });

  it("a logging module that never arrives holds up nothing: past timeoutMs the runtime predicts unlogged and says why", async () => {
    const held: Route[] = [];
    const result = await withLoggingModule((route) => void held.push(route), { timeoutMs: 2_000 }, rawRows(10, 140));
    for (const route of held) await route.abort().catch(() => {});
    expect(held).toHaveLength(1);
    expect(result).toEqual({ predicted: 10, errors: ["download"], hijacked: false });
  });

  it("the same search finds the values when both switches are on", async () => {
    bodies.length = 0;
    const rows = rawRows(10, 80);
    await run({ model: "logged", logging: true }, rows);
    const all = bodies.map((b) => b.body).join("\n");
    for (const r of rows) expect(all).toContain(String(r.tenure));
  });

  it("two tabs of one model keep each other's waiting rows: rows a tab kept when the collector did not take them are sent by the next page", async () => {
    const { bytes, manifest } = churnModel("logged-tabs");
    await collector.publish(bytes, manifest);
    await collector.rollout("logged-tabs", { logRate: 1 });
    const o = { ...base, model: "logged-tabs", logging: true };
    const [a, b] = [page, await rig!.browser.context.newPage()];
    for (const p of [a, b]) await openRuntimePage(p, rig!.server);
    for (const p of [a, b]) await p.evaluate(async (o) => void (window.rt = await window.Driftline.createRuntime(o as never)), o);
    // a's rows are not taken (the collector's logs route down for it): they wait in the store
    await a.route(`${collector.url}/v1/logs**`, (route) => route.abort());
    await a.evaluate(
      async (rows) => {
        await window.rt.predict(rows as never[]);
        await window.rt.flush();
      },
      rawRows(5, 0),
    );
    await a.unroute(`${collector.url}/v1/logs**`);
    await a.goto("about:blank");
    // b, which started beside a, sends its own 3 and saves what it has left
    await b.evaluate(
      async (rows) => {
        await window.rt.predict(rows as never[]);
        await window.rt.close();
      },
      rawRows(3, 100),
    );
    await b.close();
    // the next page sends what a kept
    await openRuntimePage(a, rig!.server);
    await a.evaluate(async (o) => {
      const rt = await window.Driftline.createRuntime(o as never);
      await rt.close();
    }, o);
    expect((await exported("logged-tabs")).length).toBe(8);
  });

  it("a runtime started again in the page after close() sends the rows the closed one kept, as it sends its queued reports", async () => {
    const { bytes, manifest } = churnModel("logged-again");
    await collector.publish(bytes, manifest);
    await collector.rollout("logged-again", { logRate: 1 });
    const o = { ...base, model: "logged-again", logging: true };
    await openRuntimePage(page, rig!.server);
    // the collector does not take the first runtime's rows: they wait in the store as it closes
    await page.route(`${collector.url}/v1/logs**`, (route) => route.abort());
    await page.evaluate(
      async ({ o, rows }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        await rt.predict(rows as never[]);
        await rt.close();
      },
      { o, rows: rawRows(5, 0) },
    );
    await page.unroute(`${collector.url}/v1/logs**`);
    // the app starts the model again in the same page (a route of a single-page app)
    await page.evaluate(async (o) => {
      const rt = await window.Driftline.createRuntime(o as never);
      await rt.close();
    }, o);
    expect((await exported("logged-again")).length).toBe(5);
  });

  /**
   * Publishes `model` logged at rate 1, predicts `n` rows in a fresh page with logging on, leaves
   * the page (no report cut came: every row since the start is unsaved) and answers the export
   * once it holds `enough` rows (or 30 s passed).
   */
  async function predictAndLeave(model: string, n: number, enough: number) {
    const { bytes, manifest } = churnModel(model);
    await collector.publish(bytes, manifest);
    await collector.rollout(model, { logRate: 1 });
    await openRuntimePage(page, rig!.server);
    await page.evaluate(
      async ({ o, rows }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        await rt.predict(rows as never[]);
      },
      { o: { ...base, model, logging: true }, rows: rawRows(n, 0) },
    );
    await page.goto("about:blank");
    return readUntil(
      () => exportOf(model),
      ({ rows }) => rows.length >= enough,
    );
  }

  it("sends the rows logged since the last report when the page goes away, with a beacon (the store's write made then is lost)", async () => {
    expect((await predictAndLeave("logged-leaving", 5, 5)).rows.length).toBe(5);
  });

  it("beacons what the page's keepalive budget holds beside the reports and counts the rest of the rows logged since the last report as dropped: exported + dropped = logged", async () => {
    // ~200 B a logged row: 700 rows are more than a beacon takes (60,000 B, less when the page's
    // 64 KiB of keepalive requests cannot hold that beside the reports' beacon)
    const got = await predictAndLeave("logged-overflow", 700, 1);
    expect(got.rows.length).toBeGreaterThan(0);
    expect(got.rows.length).toBeLessThan(700);
    expect(got.rows.length + got.dropped).toBe(700);
  });
});
