// Item 3: reports of merged sketches, queued in IndexedDB while offline (merged, so the queue
// stays bounded), kept across a reload, retried when the collector is back, counted once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { readUntil } from "./harness/poll.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { churnModel, churnRows, wideModel, wideRow } from "../fixtures/runtime-models.ts";
import type { Manifest } from "../../protocol/schema/manifest.ts";

/** Reports waiting in the page's IndexedDB queue. */
const queued = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open("driftline");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const count = req.result.transaction("queue").objectStore("queue").count();
          count.onsuccess = () => {
            req.result.close();
            resolve(count.result);
          };
        };
      }),
  );

describe("runtime: reporting through an outage and a reload", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let options: Record<string, unknown>;
  const model = churnModel("fleet");

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig());
    await collector.publish(model.bytes, model.manifest);
    options = { collector: collector.url, key: await collector.ingestKey(), model: "fleet", ortUrl: `${server.url}/ort/`, reportRows: 50, reportIntervalMs: 300 };
    page = await browser.context.newPage();
    await openRuntimePage(page, server);
  });

  afterAll(() => rig?.stop());

  const start = () =>
    page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o as never);
    }, options);
  const predictEach = (rows: unknown[]) =>
    page.evaluate(async (r) => {
      for (const row of r) await window.rt.predict(row as never);
    }, rows);

  it("reports online: rows counted by the collector, with the backend segment", async () => {
    await start();
    await predictEach(churnRows(30));
    await page.evaluate(() => window.rt.flush());
    expect(await queued(page)).toBe(0);
    expect(await collector.countRows("fleet", 1)).toBe(30);
    const wasm = await collector.admin<{ count: number }>("GET", "/v1/drift?model=fleet&version=1&segment=backend:wasm");
    expect(wasm.count).toBe(30);
    // and the coarse device class, buckets only (docs/privacy.md)
    const { segments } = await collector.admin<{ segments: Record<string, string[]> }>("GET", "/v1/segments?model=fleet");
    expect(segments.device).toEqual([expect.stringMatching(/^desktop-(2|4|8|16)c-(2|4|8|x)g-[a-z]+$/)]);
  });

  it("keeps 1,000 predictions made offline and across a reload, and the collector counts each once", async () => {
    await collector.pause();
    await browser.context.setOffline(true);
    await predictEach(churnRows(250, 0));
    await page.waitForTimeout(700);
    await browser.context.setOffline(false);
    await predictEach(churnRows(250, 250));
    await page.waitForTimeout(1500); // the collector is down: sends fail and back off
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    await start();
    await predictEach(churnRows(500, 500));
    await page.waitForTimeout(700);
    const waiting = await queued(page);
    expect(waiting).toBeGreaterThan(0);
    expect(waiting).toBeLessThan(20); // 20 reports were cut (50 rows each); unsent ones merged
    await collector.resume();
    await page.evaluate(() => window.rt.flush());
    expect(await queued(page)).toBe(0);
    expect(await collector.countRows("fleet", 1)).toBe(1030);
  });

  /**
   * Publishes `model`, predicts `rows` in a fresh page (no report timer fires and nothing is
   * flushed: the rows leave with the page or not at all), leaves the page and answers the rows
   * the collector counts once it counts them all (or 30 s passed).
   */
  async function predictAndLeave({ bytes, manifest }: { bytes: Uint8Array; manifest: Manifest }, rows: unknown[]) {
    await collector.publish(bytes, manifest);
    await openRuntimePage(page, server);
    await page.evaluate(
      async ({ o, rows }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        await rt.predict(rows as never[]);
      },
      { o: { ...options, model: manifest.model, reportRows: 100_000, reportIntervalMs: 3_600_000 }, rows },
    );
    await page.goto("about:blank");
    return countedWithin30s(manifest.model, rows.length);
  }

  /** The rows the collector counts of `model` version 1 once they reach `n` (or 30 s passed). */
  const countedWithin30s = (model: string, n: number) =>
    readUntil(
      () => collector.countRows(model, 1),
      (rows) => rows >= n,
    );

  /**
   * Runs `run` in a fresh page whose report requests the collector never answers (a slow network:
   * the first report stays in flight), checks that one was made, then leaves the page (after
   * `beforeLeaving`).
   */
  async function leaveWithReportsUnanswered(run: () => Promise<unknown>, beforeLeaving?: () => Promise<unknown>) {
    const reportRequests: string[] = [];
    await page.route("**/v1/reports", (route) => void reportRequests.push(route.request().url()));
    try {
      await openRuntimePage(page, server);
      await run();
      expect(reportRequests).toHaveLength(1);
      await beforeLeaving?.();
      await page.goto("about:blank");
    } finally {
      await page.unroute("**/v1/reports");
    }
  }

  it("sends the rows predicted since the last report when the page goes away: the report cut on pagehide goes with the beacon", async () => {
    expect(await predictAndLeave(churnModel("leaving"), churnRows(7))).toBe(7);
  });

  it("sends the rows predicted since the last report when the page goes away while a report is still unanswered", async () => {
    const held = churnModel("leaving-held");
    await collector.publish(held.bytes, held.manifest);
    await leaveWithReportsUnanswered(() =>
      page.evaluate(
        async ({ o, rows }) => {
          const rt = await window.Driftline.createRuntime(o as never);
          await rt.predict(rows.slice(0, 3) as never[]);
          void rt.flush();
          await new Promise((resolve) => setTimeout(resolve, 200));
          await rt.predict(rows.slice(3) as never[]);
        },
        { o: { ...options, model: "leaving-held", reportRows: 100_000, reportIntervalMs: 3_600_000 }, rows: churnRows(8) },
      ),
    );
    expect(await countedWithin30s("leaving-held", 8)).toBe(8);
  });

  it("drops nothing by age in the report cut as the page goes (as when a device that slept past the age limit with the page open is closed as it wakes): its rows are counted once", async () => {
    const asleep = churnModel("leaving-asleep");
    await collector.publish(asleep.bytes, asleep.manifest);
    // reports are dropped by age after 90 minutes (a day by default)
    const o = { ...options, model: "leaving-asleep", reportRows: 100_000, reportIntervalMs: 3_600_000, queue: { maxAgeMs: 5_400_000 } };
    await leaveWithReportsUnanswered(
      () =>
        page.evaluate(
          async ({ o, rows }) => {
            // the app's clock, which the test moves ahead
            let offset = 0;
            const clock = { now: () => Date.now() + offset, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (t: unknown) => clearTimeout(t as number) };
            const rt = await window.Driftline.createRuntime({ ...o, clock } as never);
            const cut = async (from: number, to: number) => {
              await rt.predict(rows.slice(from, to) as never[]);
              void rt.flush();
              await new Promise((resolve) => setTimeout(resolve, 200));
            };
            // in flight, never answered
            await cut(0, 3);
            // two reports queued beside it, unsent: one from the first hour into the second, one from the second into the third
            offset = 3_600_000;
            await cut(3, 8);
            offset = 2 * 3_600_000;
            await cut(8, 9);
            // the device sleeps an hour, and the page goes as it wakes: the first of the two is past the age limit
            offset = 3 * 3_600_000;
            await rt.predict(rows.slice(9) as never[]);
          },
          { o, rows: churnRows(10) },
        ),
      // the writes begun as the page goes never land (as where Chromium's process for the tab goes
      // first; a capturing listener runs before the runtime's)
      () =>
        page.evaluate(() =>
          addEventListener(
            "pagehide",
            () => {
              IDBObjectStore.prototype.put = IDBObjectStore.prototype.delete = () => ({}) as IDBRequest;
            },
            { capture: true },
          ),
        ),
    );
    // rows and dropped rows the collector counted, the reports dated ahead included
    const counted = async () => {
      const { rows, dropped } = await collector.countedAndDropped("leaving-asleep", 1, Date.now() - 3_600_000, Date.now() + 5 * 3_600_000);
      return { rows, dropped };
    };
    // the beacon's: the batch in flight and the reports unsent as the page went
    expect((await readUntil(counted, ({ rows }) => rows >= 10)).rows, "the rows the beacon carried").toBe(10);
    // the next page sends what the store holds
    await openRuntimePage(page, server);
    await page.evaluate(async (o) => {
      const rt = await window.Driftline.createRuntime(o as never);
      await rt.flush();
      await rt.close();
    }, o);
    expect(await counted()).toEqual({ rows: 10, dropped: 0 });
  });

  it("sends the first part of a report too wide for one beacon when the page goes away: the rows predicted since the last report are counted", async () => {
    // 100 numeric features, 2,000 rows: a report of ~80 KB, past the 64 KiB a page's keepalive requests share
    const shape = { numeric: 100 };
    const rows = Array.from({ length: 2000 }, (_, i) => wideRow(shape, i));
    expect(await predictAndLeave(wideModel("leaving-wide", shape), rows)).toBe(2000);
    // the first part, ~50,000 characters of sketches: the rows, the predictions and the first ~60 features;
    // the other parts stay queued and are sent if the page lives on, and are lost with it otherwise
    const drift = await collector.admin<{ count: number; features: Record<string, { count: number }> }>("GET", "/v1/drift?model=leaving-wide&version=1");
    expect(drift.count).toBe(2000);
    const sketched = Object.entries(drift.features).filter(([, f]) => f.count > 0);
    expect(sketched.length).toBeGreaterThan(40);
    expect(sketched.map(([name]) => name)).toEqual(Array.from({ length: sketched.length }, (_, f) => `n${f}`));
  });
});
