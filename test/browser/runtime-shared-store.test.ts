// Two models on one origin share the runtime's IndexedDB ("driftline"): starting one must not
// delete the model the other keeps (its next offline start runs from it).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { openRuntimePage, startAndPredict } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { ORT_BUILDS, ORT_DIST } from "../../scripts/lib/ort-files.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

describe("two models on one origin", () => {
  let rig: RuntimeRig;
  let page: Page;
  let options: Record<string, unknown>;
  const [a, b] = [churnModel("prune-a", 0), churnModel("prune-b", 1)];

  beforeAll(async () => {
    rig = await startRuntimeRig();
    await rig.collector.publish(a.bytes, a.manifest);
    await rig.collector.publish(b.bytes, b.manifest);
    for (const file of ORT_BUILDS.wasm) rig.server.set(`/ort-good/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)));
    options = { collector: rig.collector.url, key: await rig.collector.ingestKey(), backend: "wasm", cache: true, push: false, ortUrl: `${rig.server.url}/ort-good/` };
    page = await rig.browser.context.newPage();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  /** Two tabs of the origin on the runtime page: the test's page and a new one (close it after). */
  const twoTabs = async () => {
    const tabs = [page, await rig.browser.context.newPage()] as const;
    await Promise.all(tabs.map((p) => openRuntimePage(p, rig.server)));
    return tabs;
  };

  /** Starts a runtime in `p` as `window.rt`. */
  const startIn = (p: Page, o: Record<string, unknown>) => p.evaluate(async (o) => void (window.rt = await window.Driftline.createRuntime(o as never)), o);

  /** `window.rt` in `p` predicts `n` churn rows from `offset`, then flushes. */
  const predictIn = (p: Page, n: number, offset: number) =>
    p.evaluate(
      async ({ rows }) => {
        await window.rt.predict(rows as never[]);
        await window.rt.flush();
      },
      { rows: churnRows(n, offset) },
    );

  /** Rows the collector counted for version 1 of `model` in the last and next hour, plus rows counted as dropped. */
  const rowsAndDropped = async (model: string) => {
    await rig.collector.admin("POST", `/v1/reports/flush?model=${model}`);
    const range = `from=${Date.now() - 3_600_000}&to=${Date.now() + 3_600_000}`;
    const stats = await rig.collector.admin<{ rows: number; errors: Record<string, number> }>("GET", `/v1/stats?model=${model}&version=1&${range}`);
    return stats.rows + (stats.errors.dropped ?? 0);
  };

  it("starting model b keeps model a's bytes: a's next start, offline, runs", async () => {
    const row = churnRows(1)[0];
    expect((await startAndPredict(page, rig.server, { ...options, model: "prune-a" }, row)).outcome).toBe("ok");
    expect((await startAndPredict(page, rig.server, { ...options, model: "prune-b" }, row)).outcome).toBe("ok");
    // the collector down
    await page.route(`${rig.collector.url}/**`, (route) => route.abort());
    try {
      expect((await startAndPredict(page, rig.server, { ...options, model: "prune-a" }, row)).outcome).toBe("ok");
    } finally {
      await page.unroute(`${rig.collector.url}/**`);
    }
  });

  it("each model's runtime keeps, sends and counts only its own queued reports: each row counted once", async () => {
    const before = { "prune-a": await rowsAndDropped("prune-a"), "prune-b": await rowsAndDropped("prune-b") };
    await openRuntimePage(page, rig.server);
    // what the test before left queued (its offline start's row) goes
    await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const req = indexedDB.open("driftline");
          req.onsuccess = () => {
            const tx = req.result.transaction("queue", "readwrite");
            tx.objectStore("queue").clear();
            tx.oncomplete = () => (req.result.close(), resolve(undefined));
            tx.onerror = () => reject(tx.error);
          };
          req.onerror = () => reject(req.error);
        }),
    );
    // the collector takes no report: both models' reports wait in the origin's queue
    await page.route(`${rig.collector.url}/v1/reports**`, (route) => route.abort());
    const both = { ...options, queue: { maxAgeMs: 3000 }, reportIntervalMs: 3_600_000 };
    const run = (rows: unknown[]) =>
      page.evaluate(
        async ({ o, rows }) => {
          // started together, as a page with two models does
          const rts = await Promise.all(["prune-a", "prune-b"].map((model) => window.Driftline.createRuntime({ ...(o as object), model } as never)));
          for (const rt of rts) if (rows.length) await rt.predict(rows as never[]);
          for (const rt of rts) await rt.close();
        },
        { o: both, rows },
      );
    await run(churnRows(5));
    await page.unroute(`${rig.collector.url}/v1/reports**`);
    // past the age limit: the next start sends each model's frozen batch (the collector may hold it,
    // its answer lost) and drops the rest, their rows counted as dropped
    await page.waitForTimeout(3500);
    await openRuntimePage(page, rig.server);
    await run([]);
    expect({ "prune-a": (await rowsAndDropped("prune-a")) - before["prune-a"], "prune-b": (await rowsAndDropped("prune-b")) - before["prune-b"] }).toEqual({ "prune-a": 5, "prune-b": 5 });
  });

  it("two tabs of one model count every row each predicts: neither merges into the reports a previous page left", async () => {
    const model = "prune-a";
    const o = { ...options, model, reportIntervalMs: 3_600_000 };
    const before = await rig.collector.countRows(model, 1);
    // two tabs of the origin, open while online
    const tabs = await twoTabs();
    const start = (p: Page) => startIn(p, o);
    // a runtime predicts offline and closes: its report waits in the origin's queue, unsent
    await start(tabs[0]!);
    await rig.browser.context.setOffline(true);
    await predictIn(tabs[0]!, 5, 100);
    await tabs[0]!.evaluate(() => window.rt.close());
    // then both tabs start (as a restored session does), still offline, and predict
    await Promise.all(tabs.map(start));
    await predictIn(tabs[0]!, 7, 200);
    await predictIn(tabs[1]!, 11, 300);
    await rig.browser.context.setOffline(false);
    for (const p of tabs) await p.evaluate(() => window.rt.close());
    await tabs[1]!.close();
    expect((await rig.collector.countRows(model, 1)) - before).toBe(5 + 7 + 11);
  });

  it("joins a label given after a reload to a prediction of either of two earlier tabs of one model: each page keeps its own ring", async () => {
    const o = { ...options, model: "prune-a", reportIntervalMs: 3_600_000 };
    const [a, b] = await twoTabs();
    // each tab predicts a row and keeps its id, as an app stores it to label it later; the tabs close
    const predictionIn = (p: Page, offset: number) =>
      p.evaluate(
        async ({ o, rows }) => {
          const rt = await window.Driftline.createRuntime(o as never);
          const [prediction] = await rt.predict(rows as never[]);
          await rt.close();
          return prediction!.id;
        },
        { o, rows: churnRows(1, offset) },
      );
    const ids = [await predictionIn(a, 600), await predictionIn(b, 700)];
    await b.close();
    // the labels come on the next page
    await openRuntimePage(page, rig.server);
    const joined = await page.evaluate(
      async ({ o, ids }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        const answers = await Promise.all(ids.map((id) => rt.feedback(id, "churn")));
        await rt.close();
        return answers;
      },
      { o, ids },
    );
    // before: one ring for the model, the last tab to save overwrote the other's: [false, true]
    expect(joined).toEqual([true, true]);
  });

  it("a tab never sends the report another running tab still adds to: rows it added after the other tab started all count", async () => {
    const model = "prune-a";
    const o = { ...options, model, reportIntervalMs: 3_600_000 };
    const before = await rig.collector.countRows(model, 1);
    const [a, b] = await twoTabs();
    const start = (p: Page) => startIn(p, o);
    // offline, tab a queues a report of 5 rows; tab b starts while it waits
    await rig.browser.context.setOffline(true);
    await start(a);
    await predictIn(a, 5, 400);
    await start(b);
    // a's next 7 rows join its waiting report (same stream and hour)
    await predictIn(a, 7, 500);
    // back online, b sends what it sends first (a's sending fails meanwhile)
    await a.route(`${rig.collector.url}/v1/reports**`, (route) => route.abort());
    // a sends as it comes online: that send must have failed before the route goes (a slow
    // machine could otherwise still be sending when close() flushes, which then waits for that
    // send and leaves the report to the next page)
    const refused = a.waitForEvent("requestfailed", (r) => r.url().includes("/v1/reports"));
    await rig.browser.context.setOffline(false);
    await refused;
    // the event can reach the test before the page's own tasks have handled the failure (one run
    // under heavy load counted 0 of 12 rows): a turn of the page's task queue after it
    await a.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    await b.evaluate(() => window.rt.flush());
    await a.unroute(`${rig.collector.url}/v1/reports**`);
    for (const p of [a, b]) await p.evaluate(() => window.rt.close());
    await b.close();
    expect((await rig.collector.countRows(model, 1)) - before).toBe(5 + 7);
  });

  it("a row is counted once, as predicted or as dropped, when another running tab holds its report past the age limit", async () => {
    const model = "prune-b";
    const o = { ...options, model, reportIntervalMs: 3_600_000, queue: { maxAgeMs: 3000 } };
    const before = await rowsAndDropped(model);
    const [a, b] = await twoTabs();
    const start = (p: Page) => startIn(p, o);
    await rig.browser.context.setOffline(true);
    await start(a);
    await predictIn(a, 5, 600);
    await start(b);
    // past the age limit, each tab queues a report again: a adds it to its waiting one, and b,
    // holding that one too, must not drop it
    await a.waitForTimeout(3500);
    await predictIn(a, 1, 700);
    await predictIn(b, 1, 800);
    await rig.browser.context.setOffline(false);
    for (const p of [a, b]) await p.evaluate(() => window.rt.close());
    await b.close();
    expect((await rowsAndDropped(model)) - before).toBe(5 + 1 + 1);
  });
});
