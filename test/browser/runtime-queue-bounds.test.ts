// Issue 13 item 2: the report queue stays bounded whatever fails. With a fake clock, the collector
// answers 503 (and, separately, the network fails) for 1,000 report intervals while the page
// predicts; IndexedDB never holds more than the bound, and once the collector answers again the
// rows it counts plus the rows reported as dropped are exactly the rows predicted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

const INTERVALS = 1000;
const ROWS_PER_INTERVAL = 3;

/** What the page measured: the most entries and characters IndexedDB's queue held at any checkpoint. */
interface Outage {
  maxEntries: number;
  maxChars: number;
  predicted: number;
  /** `error` events while the queue was sent after the outage. */
  errors: string[];
}

describe("runtime: the report queue is bounded while the collector fails", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let page: Page;
  let key: string;
  let version = 0;

  beforeAll(async () => {
    // one sender (this machine) sends everything: no budget may scale its counts down
    rig = await startRuntimeRig({ vars: { SENDER_BUDGET_PER_MINUTE: "1000000000" } });
    collector = rig.collector;
    key = await collector.ingestKey();
    page = await rig.browser.context.newPage();
  });

  afterAll(() => rig?.stop());

  /**
   * Starts a runtime on a fake clock that begins `hoursAgo` in the past, with a transport that
   * fails `/v1/reports` (503) or everything (`network`) while `window.keep.mode` says so, then
   * predicts and lets 1,000 report intervals pass, sampling the queue in IndexedDB every 10.
   */
  async function outage(model: string, mode: "503" | "network", intervalMs: number, queue?: Record<string, number>): Promise<Outage> {
    await openRuntimePage(page, rig!.server);
    const start = Date.now() - (INTERVALS * intervalMs + 3_600_000);
    const options = { collector: collector.url, key, model, ortUrl: `${rig!.server.url}/ort/`, reportIntervalMs: intervalMs, ...(queue && { queue }) };
    return page.evaluate(
      async ({ options, start, mode, intervals, rows, per }) => {
        const k = window.keep as Record<string, unknown>;
        let t = start;
        let seq = 0;
        const timers = new Map<number, { at: number; fn: () => void }>();
        const clock = {
          now: () => t,
          setTimeout: (fn: () => void, ms: number) => (timers.set(++seq, { at: t + Math.max(0, Math.ceil(ms)), fn }), seq),
          clearTimeout: (id: unknown) => void timers.delete(id as number),
        };
        const settle = () => new Promise((r) => setTimeout(r, 5));
        /** Moves the clock on, running each timer that falls due (and what it starts) in order. */
        const advance = async (ms: number) => {
          const end = t + ms;
          for (;;) {
            let next: [number, { at: number; fn: () => void }] | undefined;
            for (const entry of timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
            if (!next) break;
            timers.delete(next[0]);
            t = Math.max(t, next[1].at);
            next[1].fn();
            await settle();
          }
          t = end;
        };
        k.mode = "up";
        const rejected: string[] = [];
        const down = () => k.mode !== "up";
        const transport = {
          fetch: (url: string, init: RequestInit) =>
            down() && mode === "network"
              ? Promise.reject(new TypeError("Failed to fetch"))
              : down() && url.includes("/v1/reports")
                ? Promise.resolve(new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503, headers: { "content-type": "application/json" } }))
                : fetch(url, init).then(async (res) => {
                    // what the collector refused, with its reasons
                    if (url.includes("/v1/reports") && res.ok) rejected.push(...((await res.clone().json()) as { rejected: unknown[] }).rejected.map((r) => JSON.stringify(r)));
                    return res;
                  }),
          beacon: () => false,
        };
        const queued = () =>
          new Promise<{ entries: number; chars: number }>((resolve, reject) => {
            const req = indexedDB.open("driftline");
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const all = req.result.transaction("queue").objectStore("queue").getAll();
              all.onsuccess = () => {
                req.result.close();
                const entries = all.result as Array<{ report: unknown }>;
                resolve({ entries: entries.length, chars: entries.reduce((n: number, e) => n + JSON.stringify(e.report).length, 0) });
              };
            };
          });
        const rt = await window.Driftline.createRuntime({ ...(options as unknown as Parameters<typeof window.Driftline.createRuntime>[0]), clock, transport });
        window.rt = rt;
        k.mode = mode;
        let maxEntries = 0;
        let maxChars = 0;
        let predicted = 0;
        for (let i = 0; i < intervals; i++) {
          await rt.predict(rows.slice((i * per) % rows.length, ((i * per) % rows.length) + per) as never);
          predicted += per;
          await advance((options as { reportIntervalMs: number }).reportIntervalMs);
          if (i % 10 === 9) {
            const q = await queued();
            maxEntries = Math.max(maxEntries, q.entries);
            maxChars = Math.max(maxChars, q.chars);
          }
        }
        k.mode = "up";
        const errs: string[] = [];
        rt.on("error", (e) => errs.push(`${e.code}: ${e.message}`));
        await rt.flush();

        const left = await queued();
        if (left.entries) throw new Error(`${left.entries} reports still queued after the collector came back`);
        await rt.close();
        return { maxEntries, maxChars, predicted, errors: [...errs, ...rejected] };
      },
      { options, start, mode, intervals: INTERVALS, rows: churnRows(3 * ROWS_PER_INTERVAL * 100), per: ROWS_PER_INTERVAL },
    );
  }

  /** Rows the collector counted and rows reported dropped, over every window since the outage began. */
  const counted = (model: string, v: number) => collector.countedAndDropped(model, v, Date.now() - 200 * 3_600_000, Date.now() + 3_600_000);

  it("503 for 1,000 intervals of 30 s (8.3 h), at most 8 entries: within the bound; counted + dropped = predicted", async () => {
    const model = churnModel("outage503");
    version = await collector.publish(model.bytes, model.manifest);
    const seen = await outage("outage503", "503", 30_000, { maxEntries: 8 });
    expect(seen.maxEntries).toBeLessThanOrEqual(8);
    expect(seen.errors).toEqual([]);
    const c = await counted("outage503", version);
    console.info("503 outage:", JSON.stringify({ ...seen, ...c }));
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.rows + c.dropped).toBe(seen.predicted);
    // dropped rows are not errors of the model
    expect(c.errorRate).toBe(0);
  });

  it("network down for 1,000 intervals of 30 s (8.3 h), a 1 h age limit: stale reports dropped, the queue within the bound; counted + dropped = predicted", async () => {
    const model = churnModel("outagenet");
    version = await collector.publish(model.bytes, model.manifest);
    // (the collector keeps minute windows for 48 h: an outage of 8.3 h reads back exactly)
    const seen = await outage("outagenet", "network", 30_000, { maxAgeMs: 3_600_000 });
    // this hour's and the last hour's merged entries, the batch in flight and the dropped rows' carrier
    expect(seen.maxEntries).toBeLessThanOrEqual(6);
    expect(seen.maxChars).toBeLessThanOrEqual(8_000_000);
    expect(seen.errors).toEqual([]);
    const c = await counted("outagenet", version);
    console.info("network outage:", JSON.stringify({ ...seen, ...c }));
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.rows + c.dropped).toBe(seen.predicted);
  });
});
