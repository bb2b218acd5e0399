import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { Accumulator } from "../../../runtime/report-builder.ts";
import { mergeDrafts, toWire, type Draft } from "../../../runtime/draft.ts";
import { QUEUE_BOUNDS, ReportQueue } from "../../../runtime/report-queue.ts";
import { memoryStore } from "../../../runtime/model-store.ts";
import { splitReport } from "../../../runtime/split-report.ts";
import type { Api } from "../../../runtime/api.ts";
import { DriftlineError } from "../../../protocol/errors.ts";
import { reportSchema, type Report } from "../../../protocol/schema/report.ts";
import { fromBase64, decodeCategorical, decodeClassification, decodeErrorCounts, decodeConfusion, decodeNumeric } from "../../../protocol/sketch/index.ts";
import { EmbeddingProjector } from "../../../protocol/embedding.ts";
import { otherSketchChars } from "../../../protocol/report-size.ts";
import { LIMITS } from "../../../protocol/limits.ts";
import { churnModel, churnRows } from "../../fixtures/runtime-models.ts";
import { storeLosingWritesOnLeave } from "../../fixtures/page-stores.ts";
import { droppedIn, foldRows } from "../../fixtures/report-drafts.ts";

const { manifest } = churnModel("churn");
let n = 0;
const head = () => ({ id: `r${++n}`, model: "churn", version: 1, role: "live" as const, client: "c", segment: { backend: "wasm" }, sampleRate: 1 });

function filled(rows: number, offset = 0): Draft {
  const acc = new Accumulator(manifest, 1000);
  const data = churnRows(rows, offset);
  foldRows(acc, data, (r) => data[r]!.tenure % 3, 0.5);
  acc.error("validation");
  return acc.cut(head(), 2000)!;
}

describe("report accumulation", () => {
  it("cuts a schema-valid report of every sketch and resets", () => {
    const acc = new Accumulator(manifest, 1000);
    foldRows(acc, [{ tenure: 500, charges: null, age: 30, plan: "gold" }], () => 1, 0.9);
    foldRows(acc, [{ tenure: 5, charges: NaN, age: 30, plan: "pro" }], () => 0, 0.6);
    acc.error("validation");
    acc.label(1, 1);
    const report = toWire(acc.cut(head(), 5000)!);
    expect(reportSchema.safeParse(report).success).toBe(true);
    const tenure = decodeNumeric(fromBase64(report.features.tenure!));
    const charges = decodeNumeric(fromBase64(report.features.charges!));
    const plan = decodeCategorical(fromBase64(report.features.plan!));
    expect([tenure.outOfRange, charges.missing, charges.nonFinite, plan.other]).toEqual([1, 1, 1, 1]);
    expect(decodeClassification(fromBase64(report.prediction!)).counts).toEqual([1, 1, 0]);
    expect(decodeErrorCounts(fromBase64(report.errors!)).counts.get("validation")).toBe(1);
    expect(decodeConfusion(fromBase64(report.confusion!)).count(1, 1)).toBe(1);
    expect(acc.cut(head(), 6000)).toBeUndefined();
  });

  it("starts the next report at the last cut, also when that cut found nothing to send", () => {
    // a report is filed under the minute of its start: a quiet client whose last report was cut
    // at 00:50 must not file rows it predicts after 01:00 under 00:xx because an empty cut at
    // 01:00 (a timer, a flush) left the old start in place
    const acc = new Accumulator(manifest, 0);
    expect(acc.cut(head(), 50_000)).toBeUndefined();
    expect(acc.cut(head(), 60_000)).toBeUndefined();
    foldRows(acc, [{ tenure: 5, charges: 1, age: 30, plan: "pro" }], () => 0, 0.6);
    expect(acc.cut(head(), 65_000)).toMatchObject({ start: 60_000, end: 65_000, rows: 1 });
  });

  it("merges drafts: rows add, period widens, sketches merge", () => {
    const a = filled(30);
    const b = filled(20, 30);
    const id = a.id;
    const merged = toWire(mergeDrafts(a, b));
    expect(merged.id).toBe(id);
    expect(merged.rows).toBe(50);
    expect(decodeNumeric(fromBase64(merged.features.tenure!)).count).toBe(50);
    expect(decodeErrorCounts(fromBase64(merged.errors!)).counts.get("validation")).toBe(2);
    expect(reportSchema.safeParse(merged).success).toBe(true);
  });
});

function fakeApi(answers: Array<() => unknown>) {
  const sent: Report[][] = [];
  /** Each beacon's reports: a page's keepalive requests share 64 KiB, and a larger beacon is refused whole. */
  const beaconed: Report[][] = [];
  /** Each batch's sentAt. */
  const sentAt: (number | undefined)[] = [];
  const api: Api = {
    assignment: async () => {
      throw new Error("unused");
    },
    artifact: async () => new Uint8Array(),
    reports: async (batch) => {
      sent.push(structuredClone(batch.reports));
      sentAt.push(batch.sentAt);
      const next = answers.shift()!();
      if (next instanceof Error) throw next;
      return next as never;
    },
    beacon: (_path, body) => body.length <= 65_536 && beaconed.push((JSON.parse(body) as { reports: Report[] }).reports) > 0,
    logs: async () => {
      throw new Error("unused");
    },
  };
  return { api, sent, sentAt, beaconed };
}

/**
 * A collector that keeps the first report of each id, as ingest does (by `reports` and `beacon`);
 * while `lose` is set, the answer to a request is lost after it kept the reports. `counted()`:
 * the rows of the reports it holds, and the rows they carry as `dropped`.
 */
function dedupingCollector() {
  const held = new Map<string, Report>();
  const take = (reports: Report[]) => reports.forEach((r) => held.has(r.id) || held.set(r.id, structuredClone(r)));
  const c = {
    lose: false,
    api: {
      reports: async ({ reports }: { reports: Report[] }) => {
        take(reports);
        if (c.lose) throw new DriftlineError("network", "the answer was lost");
        return { accepted: reports.length, rejected: [] };
      },
      beacon: (_path: string, body: string) => (take((JSON.parse(body) as { reports: Report[] }).reports), true),
    } as unknown as Api,
    counted: () => {
      const reports = [...held.values()];
      // a report's parts repeat its rows: the collector counts them once
      return { rows: reports.reduce((n, r) => n + (r.part ? 0 : r.rows), 0), dropped: droppedIn(reports) };
    },
  };
  return c;
}

/** A memory store whose deletes wait, from `slow()` on, until `open()` (a slow IndexedDB). */
function storeWithSlowDeletes() {
  const memory = memoryStore();
  let gate: Promise<void> | undefined;
  let open = () => {};
  const store = { ...memory, delete: async (area: "queue", key: string) => (await gate, memory.delete(area, key)) };
  return { store, slow: () => void (gate = new Promise<void>((resolve) => (open = resolve))), open: () => open() };
}

/** The next page: a queue on `options` that loads what the store holds and sends it (twice: a batch at a time). */
async function nextPageSends(options: ConstructorParameters<typeof ReportQueue>[0]): Promise<void> {
  const next = new ReportQueue(options);
  await next.load("churn");
  await next.flush();
  await next.flush();
}

const manualClock = () => {
  let t = 0;
  return { now: () => t, setTimeout: () => 0, clearTimeout: () => {}, advance: (ms: number) => (t += ms) };
};

describe("report queue", () => {
  it("sends each batch with the device's wall clock, also a batch sent again, not the clock an app dates its reports by", async () => {
    const { api, sent, sentAt } = fakeApi([() => new DriftlineError("network", "down"), () => ({ accepted: 1, rejected: [] })]);
    const clock = manualClock();
    clock.advance(5_000);
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(3));
    await q.flush();
    clock.advance(10 * 60_000);
    await q.flush();
    expect(sent.map((b) => b[0]!.id)).toEqual([sent[0]![0]!.id, sent[0]![0]!.id]);
    // the collector moves the reports by its own time minus sentAt when the two are far apart:
    // a manual clock (a backfill, a simulation) keeps its reports' times
    for (const at of sentAt) expect(Math.abs(at! - Date.now())).toBeLessThan(60_000);
  });

  it("merges unsent reports of one stream, keeps sent ones frozen, and resends them with the same id", async () => {
    const down = Object.assign(new DriftlineError("network", "down"), {});
    const { api, sent } = fakeApi([() => down, () => ({ accepted: 1, rejected: [] }), () => ({ accepted: 1, rejected: [] })]);
    const clock = manualClock();
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(10));
    await q.add(filled(10));
    expect(q.entries).toHaveLength(1);
    await q.flush();
    expect(sent[0]!.map((r) => r.rows)).toEqual([20]);
    await q.add(filled(5));
    expect(q.entries.map((e) => [e.sent, e.report.rows])).toEqual([
      [true, 20],
      [false, 5],
    ]);
    await q.flush();
    expect(sent).toHaveLength(1);
    clock.advance(10 * 60_000);
    await q.flush();
    // the batch in flight goes again alone, then what was queued meanwhile
    expect(sent[1]![0]!.id).toBe(sent[0]![0]!.id);
    expect(sent.slice(1).map((b) => b.map((r) => r.rows))).toEqual([[20], [5]]);
    expect(q.entries).toHaveLength(0);
  });

  it("never merges rows into a report the collector may hold already: a 429 after an attempt whose answer was lost keeps the batch frozen", async () => {
    // the collector keeps the first report of each id (ids dedupe retries) and answers as scripted
    const held = new Map<string, number>();
    const take = (reports: Report[]) => (reports.forEach((r) => held.set(r.id, held.get(r.id) ?? r.rows)), { accepted: reports.length, rejected: [] });
    const script: Array<(reports: Report[]) => unknown> = [
      (reports) => (take(reports), new DriftlineError("network", "the answer was lost")),
      () => Object.assign(new DriftlineError("rate_limited", "slow down"), { status: 429 }),
    ];
    const api = {
      reports: async ({ reports }: { reports: Report[] }) => {
        const answer = (script.shift() ?? take)(structuredClone(reports));
        if (answer instanceof Error) throw answer;
        return answer;
      },
    } as unknown as Api;
    const clock = manualClock();
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(5));
    await q.flush();
    await q.flush(true);
    // cut while the batch waits out the 429, in the same hour and stream
    await q.add(filled(3));
    await q.flush(true);
    await q.flush(true);
    expect([...held.values()].reduce((a, b) => a + b, 0)).toBe(8);
  });

  it("honours Retry-After, keeps 429ed reports frozen, and drops what the collector refuses for good", async () => {
    const limited = Object.assign(new DriftlineError("rate_limited", "slow down"), { status: 429, retryAfter: 120_000 });
    const refused = Object.assign(new DriftlineError("validation", "bad"), { status: 400 });
    const { api, sent } = fakeApi([() => limited, () => refused, () => refused, () => refused]);
    const clock = manualClock();
    const errors: string[] = [];
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: (e) => errors.push(e.code) });
    await q.add(filled(3));
    await q.flush();
    await q.add(filled(4));
    expect(q.entries.map((e) => e.report.rows)).toEqual([3, 4]);
    clock.advance(60_000);
    await q.flush();
    expect(sent).toHaveLength(1);
    clock.advance(61_000);
    await q.flush();
    // refused, then the report of 4 rows carrying its 3 as dropped refused too, then the report
    // carrying all 7 as dropped: let go
    expect(sent.map((b) => b.map((r) => r.rows))).toEqual([[3], [3], [4], [0]]);
    expect(q.entries).toHaveLength(0);
    expect(errors).toEqual(["validation", "validation", "validation"]);
  });

  it("counts the rows of a batch refused for good (a proxy's 413) as dropped, in the next report", async () => {
    const tooLarge = Object.assign(new DriftlineError("payload_too_large", "413"), { status: 413 });
    const { api, sent } = fakeApi([() => tooLarge, () => ({ accepted: 1, rejected: [] })]);
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(7));
    await q.flush();
    expect(sent.map((b) => b.map((r) => r.rows))).toEqual([[7], [0]]);
    const counts = decodeErrorCounts(fromBase64(sent[1]![0]!.errors!)).counts;
    // the refused report's own error count (a validation error) goes along with its rows
    expect(Object.fromEntries(counts)).toEqual({ dropped: 7, validation: 1 });
    expect(q.entries).toHaveLength(0);
  });

  it("sends a batch a proxy refuses as too large (413) in smaller batches, in batches nginx's default limit of 1 MiB takes at all: nothing dropped", async () => {
    for (const limit of [1_048_576, 100_000]) {
      const collector = dedupingCollector();
      const tooLarge = Object.assign(new DriftlineError("payload_too_large", "413"), { status: 413 });
      const bodies: number[] = [];
      // a proxy in front of the collector, refusing bodies over `limit` bytes (nginx: client_max_body_size)
      const reports = async (batch: { reports: Report[] }) => {
        bodies.push(JSON.stringify(batch).length);
        if (bodies.at(-1)! > limit) throw tooLarge;
        return collector.api.reports(batch);
      };
      const q = new ReportQueue({
        store: memoryStore(),
        api: { ...collector.api, reports },
        clock: manualClock(),
        bounds: QUEUE_BOUNDS,
        newId: () => crypto.randomUUID(),
        onAnswer: () => {},
        onError: () => {},
      });
      // reports of a model at the features' limit (512), of 100,000 rows each: ~1.2 MB, split into parts when frozen
      for (let k = 0; k < 3; k++) {
        const wide = filled(100_000, k * 100_000);
        for (let f = 0; f < LIMITS.features; f++) wide.features[`n${f}`] = wide.features.tenure!;
        wide.start = wide.end = k * 3_600_000;
        await q.add(wide);
      }
      await q.flush();
      expect(collector.counted(), `limit ${limit}`).toEqual({ rows: 300_000, dropped: 0 });
      expect(q.entries).toHaveLength(0);
      if (limit > 1_000_000) expect(Math.max(...bodies)).toBeLessThanOrEqual(limit);
    }
  });

  it("retries within an hour whatever Retry-After says, and when its timer fires however the wall clock was set meanwhile", async () => {
    const later = Object.assign(new DriftlineError("unavailable", "later"), { status: 503, retryAfter: 10_000_000_000 });
    const { api, sent } = fakeApi([() => later, () => ({ accepted: 1, rejected: [] })]);
    let now = Date.UTC(2026, 11, 5);
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const clock = { now: () => now, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => {} };
    // (the reports cut at 2 s past 1970: no age limit here)
    const bounds = { ...QUEUE_BOUNDS, maxAgeMs: Infinity };
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(3));
    await q.flush();
    // a browser's timer past 2^31 - 1 ms fires at once: on the code before, the retry was at once
    expect(timers.at(-1)!.ms).toBe(3_600_000);
    now -= 86_400_000;
    timers.at(-1)!.fn();
    await q.flush();
    expect(sent.map((b) => b.map((r) => r.rows))).toEqual([[3], [3]]);
    expect(q.entries).toHaveLength(0);
  });

  it("keeps a frozen batch past the age limit, sending it until answered: the collector may hold it already (its answer lost)", async () => {
    const collector = dedupingCollector();
    const { api } = collector;
    collector.lose = true;
    const clock = manualClock();
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: { ...QUEUE_BOUNDS, maxAgeMs: 60_000 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(5));
    await q.flush();
    // offline past the age limit; a new report is cut, and the network comes back
    clock.advance(10 * 60_000);
    const fresh = filled(3);
    [fresh.start, fresh.end] = [clock.now() - 1000, clock.now()];
    await q.add(fresh);
    collector.lose = false;
    await q.flush(true);
    await q.flush(true);
    expect(collector.counted()).toEqual({ rows: 8, dropped: 0 });
    expect(q.entries).toHaveLength(0);
  });

  it("counts the rows of a report the collector refuses inside a 200 answer as dropped, in the next report", async () => {
    let first = true;
    const sent: Report[][] = [];
    const api = {
      reports: async ({ reports }: { reports: Report[] }) => {
        sent.push(structuredClone(reports));
        if (!first) return { accepted: reports.length, rejected: [] };
        first = false;
        return { accepted: 0, rejected: [{ id: reports[0]!.id, code: "validation", message: "start: more than 2 days back" }] };
      },
    } as unknown as Api;
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(6));
    await q.flush();
    expect(sent.map((b) => b.map((r) => r.rows))).toEqual([[6], [0]]);
    expect(decodeErrorCounts(fromBase64(sent[1]![0]!.errors!)).counts.get("dropped")).toBe(6);
    expect(q.entries).toHaveLength(0);
  });

  it("says why the collector refused a report inside a 200 answer", async () => {
    const rejected = [
      { id: "a", code: "limit_exceeded" as const, message: "reports.0: segment: more than 8 keys" },
      { id: "b", code: "limit_exceeded" as const, message: "reports.1: segment: more than 8 keys" },
    ];
    const { api } = fakeApi([() => ({ accepted: 0, rejected })]);
    const errors: string[] = [];
    const q = new ReportQueue({
      store: memoryStore(),
      api,
      clock: manualClock(),
      bounds: QUEUE_BOUNDS,
      newId: () => crypto.randomUUID(),
      onAnswer: () => {},
      onError: (e) => errors.push(`${e.code} ${e.message}`),
    });
    await q.add(filled(3));
    await q.flush();
    expect(errors).toEqual(["validation 2 rejected: limit_exceeded: reports.0: segment: more than 8 keys"]);
  });

  it("sends the reports a previous page left as stored, merging nothing into them, also one an earlier build stored with its draft", async () => {
    const { api, sent } = fakeApi([() => ({ accepted: 3, rejected: [] })]);
    const store = memoryStore();
    const q1 = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q1.add(filled(8));
    await q1.add(filled(2));
    // an entry as builds before this one stored it: with its draft, as a structured clone
    const old = filled(4);
    await store.put("queue", "old", { report: { ...toWire(old), id: "old" }, draft: structuredClone(old), state: "an-earlier-build", sent: false });
    const q2 = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q2.load("churn");
    expect(q2.entries.map((e) => [e.report.rows, !!e.draft])).toEqual([
      [10, false],
      [4, false],
    ]);
    const first = q2.entries[0]!.report.id;
    await q2.add(filled(5));
    expect(q2.entries.map((e) => e.report.rows)).toEqual([10, 4, 5]);
    await q2.flush();
    expect(sent[0]!.map((r) => [r.id === first || r.id === "old" ? r.id : "new", r.rows])).toEqual([
      [first, 10],
      ["old", 4],
      ["new", 5],
    ]);
  });

  it("stores each report as it will be sent, not its draft: the store holds about what maxBytes counts", async () => {
    const store = memoryStore();
    const { api } = fakeApi([]);
    const q = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // a report of 1,000 rows an hour for 8 hours: none merges
    for (let hour = 0; hour < 8; hour++) {
      const acc = new Accumulator(manifest, hour * 3_600_000);
      foldRows(acc, churnRows(1000, hour * 1000), (r) => r % 3, 0.5);
      await q.add(acc.cut(head(), hour * 3_600_000 + 1000)!);
    }
    // bytes as IndexedDB keeps them (V8's structured-clone serialisation), against what the bound counts
    const stored = await Promise.all((await store.keys("queue")).map((k) => store.get("queue", k)));
    const ratio = stored.reduce((n: number, e) => n + serialize(e).length, 0) / q.entries.reduce((n, e) => n + e.size!, 0);
    expect(ratio).toBeLessThan(1.5);
  });

  it("persists entries so a new page picks them up, its model's only (another model's runtime keeps its own)", async () => {
    const store = memoryStore();
    const { api } = fakeApi([]);
    const q1 = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q1.add(filled(8));
    await q1.add({ ...filled(3), model: "other" });
    const q2 = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q2.load("churn");
    expect(q2.entries.map((e) => e.report.rows)).toEqual([8]);
  });

  it("passes over stored entries it cannot read or that hold no report (a corrupted record would fail every start), and loads the rest", async () => {
    const store = memoryStore();
    const { api } = fakeApi([]);
    const q1 = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q1.add(filled(8));
    // written by other script of the origin, or cut short; and one the store fails to read
    // (Chromium's "Failed to read large IndexedDB value" once the value's file is gone)
    for (const [id, junk] of Object.entries({ a: { report: { id: "a" }, sent: false }, b: { sent: true }, c: "junk", d: { report: null } })) await store.put("queue", id, junk);
    const unreadable = { ...store, get: async <T>(area: Parameters<typeof store.get>[0], key: string) => (key === "e" ? Promise.reject(new Error("UnknownError")) : store.get<T>(area, key)) };
    await store.put("queue", "e", { report: filled(1) });
    const q2 = new ReportQueue({ store: unreadable, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    const loaded = await q2.load("churn").then(
      () => q2.entries.map((e) => e.report.rows),
      (err: Error) => `load failed: ${err.message}`,
    );
    expect(loaded).toEqual([8]);
  });

  it("never drops by age a report the page before beaconed as it went (its write of `sent` lost in pagehide): the collector holds it, its rows counted once", async () => {
    const collector = dedupingCollector();
    const { api } = collector;
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const clock = manualClock();
    const options = { store, api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    await q.add(filled(5));
    leave();
    q.beacon();
    // the user comes back two days later: the store still holds the report, unsent
    clock.advance(2 * 86_400_000);
    await nextPageSends({ ...options, store: saved });
    expect(collector.counted()).toEqual({ rows: 5, dropped: 0 });
  });

  it("drops nothing by age in the cut made as the page goes (a device waking from two days asleep): its delete would be lost and the next page send the report again, its rows counted twice", async () => {
    const collector = dedupingCollector();
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const clock = manualClock();
    const options = { store, api: collector.api, clock, bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    await q.add(filled(5));
    clock.advance(2 * 86_400_000);
    // the page goes: its report is cut and beaconed (runtime/runtime.ts onHide), its writes lost
    leave();
    const acc = new Accumulator(manifest, clock.now());
    foldRows(acc, churnRows(3), () => 0, 0.5);
    void q.add(acc.cut(head(), clock.now() + 1000)!, true);
    q.beacon();
    await nextPageSends({ ...options, store: saved });
    expect(collector.counted()).toEqual({ rows: 8, dropped: 0 });
  });

  it("drops no stored report by the size bounds in the cut made as the page goes: its delete would be lost and the next page send it beside its rows' count in the beacon", async () => {
    const collector = dedupingCollector();
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const options = { store, api: collector.api, clock: manualClock(), bounds: { ...QUEUE_BOUNDS, maxEntries: 2 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    /** A report of `rows` rows of its own stream (segment `s`). */
    const of = (rows: number, s: string) => Object.assign(filled(rows), { segment: { backend: "wasm", s } });
    // the collector down: two reports stored, the queue at maxEntries
    await q.add(of(5, "a"));
    await q.add(of(4, "b"));
    // the page goes: a report of a third stream is cut and beaconed (runtime/runtime.ts onHide), its writes lost
    leave();
    void q.add(of(3, "c"), true);
    q.beacon();
    await nextPageSends({ ...options, store: saved });
    const { rows, dropped } = collector.counted();
    expect(rows + dropped).toBe(12);
    expect((await saved.keys("queue")).length).toBeLessThanOrEqual(2);
  });

  it("keeps the dropped rows a loaded report carries when the size bounds drop it: they are counted nowhere else", async () => {
    const collector = dedupingCollector();
    const store = memoryStore();
    const options = { store, api: collector.api, clock: manualClock(), bounds: { ...QUEUE_BOUNDS, maxEntries: 2 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    /** A report of `rows` rows of its own stream (segment `s`), of hour `h`. */
    const of = (rows: number, s: string, h: number) => Object.assign(filled(rows), { segment: { backend: "wasm", s }, start: h * 3_600_000, end: h * 3_600_000 + 1000 });
    // the collector down: the report of 5 rows is dropped, its rows carried by the next report of its stream
    const q = new ReportQueue(options);
    await q.add(of(5, "a", 0));
    await q.add(of(4, "b", 2));
    await q.add(of(3, "a", 1));
    expect(q.entries.map((e) => [e.report.rows, droppedIn([e.report])])).toEqual([
      [4, 0],
      [3, 5],
    ]);
    q.stop();
    // the next page loads both, and a report it cuts makes room: the oldest, the one carrying the 5, is dropped
    const next = new ReportQueue(options);
    await next.load("churn");
    await next.add(of(2, "c", 3));
    await next.flush();
    const { rows, dropped } = collector.counted();
    expect(rows + dropped).toBe(14);
  });

  // not fixed: bare reports are never dropped (they carry the only count of dropped rows), and a loaded one merges nothing (no draft)
  it("never drops by age a report frozen and sent while the trim that listed it waited on the store: its rows counted once", async () => {
    const collector = dedupingCollector();
    const { api } = collector;
    collector.lose = true;
    const { store, slow, open } = storeWithSlowDeletes();
    const clock = manualClock();
    const q = new ReportQueue({ store, api, clock, bounds: { ...QUEUE_BOUNDS, maxAgeMs: 60_000 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    /** A report of `rows` rows of its own stream (segment `s`), cut now. */
    const of = (rows: number, s: string) => Object.assign(filled(rows), { segment: { backend: "wasm", s }, start: clock.now() - 1000, end: clock.now() });
    clock.advance(10_000);
    await q.add(of(3, "a"));
    await q.add(of(4, "b"));
    clock.advance(120_000);
    slow();
    // the trim after this add lists both old reports and waits on dropping the first
    const adding = q.add(of(2, "c"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    // meanwhile a flush freezes the second and sends it: the collector holds it, its answer lost
    await q.flush();
    open();
    await adding;
    collector.lose = false;
    await q.flush(true);
    await q.flush(true);
    expect(collector.counted()).toEqual({ rows: 6, dropped: 3 });
  });

  it("beacons the rows of a report the collector refused as dropped also while the store deletes it: they are queued nowhere else", async () => {
    const tooLarge = Object.assign(new DriftlineError("payload_too_large", "413"), { status: 413 });
    const { api, beaconed } = fakeApi([() => tooLarge]);
    const { store, slow } = storeWithSlowDeletes();
    slow();
    const q = new ReportQueue({ store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(4));
    void q.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // the page goes while the refused report's delete is under way
    q.beacon();
    expect(droppedIn(beaconed.flat())).toBe(4);
  });

  it("never stores a new report another add's trim dropped while its own trim waited on the store: the next page would send its rows again", async () => {
    const collector = dedupingCollector();
    const { api } = collector;
    const { store, slow, open } = storeWithSlowDeletes();
    const options = { store, api, clock: manualClock(), bounds: { ...QUEUE_BOUNDS, maxEntries: 1 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    /** A report of `rows` rows of its own stream (segment `s`). */
    const of = (rows: number, s: string) => Object.assign(filled(rows), { segment: { backend: "wasm", s } });
    await q.add(of(1, "a"));
    slow();
    // two reports cut at once (cutAll): the second's trim drops the first before it is stored
    const adding = [q.add(of(2, "b")), q.add(of(3, "c"))];
    open();
    await Promise.all(adding);
    await q.flush();
    // the next page sends what the store holds
    await nextPageSends(options);
    const { rows, dropped } = collector.counted();
    expect(rows + dropped).toBe(6);
  });

  it("never holds more than maxEntries entries in the store, not even between saving a report and dropping the oldest", async () => {
    const store = memoryStore();
    let most = 0;
    const counting = {
      ...store,
      put: async (area: Parameters<typeof store.put>[0], key: string, value: unknown) => {
        await store.put(area, key, value);
        if (area === "queue") most = Math.max(most, (await store.keys("queue")).length);
      },
    };
    const { api } = fakeApi([]);
    const clock = manualClock();
    const q = new ReportQueue({ store: counting, api, clock, bounds: { ...QUEUE_BOUNDS, maxEntries: 8 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // one report an hour: none merges, so every add needs a new entry
    for (let hour = 0; hour < 20; hour++) {
      const acc = new Accumulator(manifest, hour * 3_600_000);
      foldRows(acc, churnRows(2, hour), () => 0, 0.5);
      await q.add(acc.cut(head(), hour * 3_600_000 + 1000)!);
    }
    expect(most).toBe(8);
    expect((await store.keys("queue")).length).toBe(8);
  });

  it("stays within maxEntries across page visits while the collector is down: loaded reports are dropped by the size bounds too", async () => {
    const store = memoryStore();
    const { api } = fakeApi(Array(100).fill(() => new DriftlineError("network", "down")));
    const clock = manualClock();
    const options = { store, api, clock, bounds: { ...QUEUE_BOUNDS, maxEntries: 8 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    // ten visits, three reports an hour apart each: none merges, every add needs a new entry
    for (let visit = 0; visit < 10; visit++) {
      const q = new ReportQueue(options);
      await q.load("churn");
      for (let hour = 0; hour < 3; hour++) {
        const acc = new Accumulator(manifest, clock.now());
        foldRows(acc, churnRows(2, hour), () => 0, 0.5);
        await q.add(acc.cut(head(), clock.now() + 1000)!);
        clock.advance(3_600_000);
      }
      q.stop();
    }
    expect((await store.keys("queue")).length).toBeLessThanOrEqual(8);
  });

  it("carries the rows of a dropped report as dropped in a report the collector takes, also when that report counted nearly as many errors as a report may", async () => {
    const { api, sent } = fakeApi(Array(10).fill(() => ({ accepted: 1, rejected: [] })));
    const clock = manualClock();
    const q = new ReportQueue({ store: memoryStore(), api, clock, bounds: { ...QUEUE_BOUNDS, maxEntries: 2 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // three reports an hour apart (none merges), the first with 10 rows and 999,995 validation
    // errors (a sparse model's rows missing most features): the bounds drop it
    for (let hour = 0; hour < 3; hour++) {
      const acc = new Accumulator(manifest, clock.now());
      foldRows(acc, churnRows(10), () => 0, 0.5);
      if (!hour) acc.errors.update("validation", 999_995);
      await q.add(acc.cut(head(), clock.now() + 1000)!);
      clock.advance(3_600_000);
    }
    await q.flush();
    const reports = sent.flat();
    expect(droppedIn(reports) + reports.reduce((n, r) => n + r.rows, 0)).toBe(30);
    // the collector refuses a report of more errors (collector/ingest/check-report.ts checkWeights), its counts with it
    for (const r of reports) expect(r.errors ? [...decodeErrorCounts(fromBase64(r.errors)).counts.values()].reduce((a, b) => a + b, 0) : 0).toBeLessThanOrEqual(LIMITS.reportRows);
  });

  it("merges no shadow report into one of another shadow version: a new shadow's rows are never sent as its predecessor's", async () => {
    const { api, sent } = fakeApi([() => ({ accepted: 2, rejected: [] })]);
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // what Shadow.cut gives for the outgoing shadow (version 2), then for its successor (version 3), in one hour
    const shadowDraft = (version: number, rows: number): Draft => ({ ...head(), role: "shadow", start: 1000, end: 2000, rows: 0, features: {}, shadow: { version, rows, agree: rows } });
    await q.add(shadowDraft(2, 5));
    await q.add(shadowDraft(3, 1));
    await q.flush();
    expect(sent.flat().map((r) => [r.shadow!.version, r.shadow!.rows])).toEqual([
      [2, 5],
      [3, 1],
    ]);
  });

  it("merges shadow reports only while their shadow rows stay within a report's: an hour offline of a busy page's shadow is not refused", async () => {
    const { api, sent } = fakeApi(Array(10).fill(() => ({ accepted: 1, rejected: [] })));
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // what Shadow.cut gives: rows 0, the shadow's own rows in `shadow` (sketches left out: the schema's row bound is at stake)
    const shadowDraft = (rows: number): Draft => ({ ...head(), role: "shadow", start: 1000, end: 2000, rows: 0, features: {}, shadow: { version: 2, rows, agree: rows } });
    for (let i = 0; i < 3; i++) await q.add(shadowDraft(400_000));
    await q.flush();
    const reports = sent.flat();
    expect(reports.reduce((n, r) => n + r.shadow!.rows, 0)).toBe(1_200_000);
    for (const r of reports) expect(reportSchema.safeParse(r).error?.issues).toBeUndefined();
  });
});

describe("report splitting", () => {
  it("beacons as the page goes away what one beacon holds: the first part of a report too wide for it, and a page that lives on sends every part, the first unchanged", async () => {
    const { api, sent, beaconed } = fakeApi([() => ({ accepted: 1, rejected: [] })]);
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    const wide = filled(2000);
    for (let f = 0; f < 100; f++) wide.features[`n${f}`] = wide.features.tenure!;
    const whole = toWire(wide);
    expect(JSON.stringify(whole).length).toBeGreaterThan(65_536);
    await q.add(wide);
    q.beacon();
    expect(beaconed).toHaveLength(1);
    expect(beaconed[0]!.map((r) => [r.id, r.rows])).toEqual([[whole.id, 2000]]);
    expect(beaconed[0]![0]!.prediction).toBe(whole.prediction);
    await q.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]).toEqual(beaconed[0]![0]);
    expect(sent[0]!.map((r) => r.id)).toEqual(sent[0]!.map((_, i) => (i ? `${whole.id}-${i}` : whole.id)));
    expect(Object.assign({}, ...sent[0]!.map((r) => r.features))).toEqual(whole.features);
  });

  it("beacons the report cut as the page goes first, also beside a batch in flight: it is saved nowhere else", async () => {
    let answer: (value: unknown) => void = () => {};
    const accepted = { accepted: 1, rejected: [] };
    const { api, sent, beaconed } = fakeApi([() => new Promise((resolve) => (answer = resolve)), () => accepted]);
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    await q.add(filled(10));
    const flushing = q.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent).toHaveLength(1);
    const cut = filled(5);
    await q.add(cut);
    q.beacon();
    expect(beaconed.map((b) => b.map((r) => [r.id, r.rows]))).toEqual([
      [
        [cut.id, 5],
        [sent[0]![0]!.id, 10],
      ],
    ]);
    // the page lived on: the batch in flight answered, the cut goes next, each once
    answer(accepted);
    await flushing;
    expect(sent.map((b) => b.map((r) => r.rows))).toEqual([[10], [5]]);
    expect(q.entries).toEqual([]);
  });

  it("beacons a wide report saved before the page went in the parts the next page sends: no id is sent again with other content (Chromium drops the writes made in pagehide)", async () => {
    let answer: (value: unknown) => void = () => {};
    const accepted = () => ({ accepted: 1, rejected: [] });
    const { api, sent, beaconed } = fakeApi([() => new Promise((resolve) => (answer = resolve)), accepted, accepted, accepted]);
    // the writes made as the page goes never land
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const options = { store, api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    await q.add(filled(10));
    void q.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // a wide report cut while that batch is unanswered: stored, unsent
    const wide = filled(2000);
    for (let f = 0; f < 100; f++) wide.features[`n${f}`] = wide.features.tenure!;
    await q.add(wide);
    leave();
    q.beacon();
    // the page is gone; the next one sends what the store holds
    await nextPageSends({ ...options, store: saved });
    // each id the collector is sent, with the features of each content sent under it (it keeps the first)
    const contents = new Map<string, Map<string, number>>();
    for (const r of [...beaconed, ...sent].flat()) {
      const seen = contents.get(r.id) ?? contents.set(r.id, new Map()).get(r.id)!;
      seen.set(JSON.stringify(r), Object.keys(r.features).length);
    }
    expect([...contents].map(([id, seen]) => [id, [...seen.values()]])).toEqual([...contents.keys()].map((id) => [id, [contents.get(id)!.values().next().value]]));
    // every feature of the wide report reached the collector (the first content of each id)
    const kept = [...contents.values()].map((seen) => JSON.parse(seen.keys().next().value!) as Report).filter((r) => r.id.startsWith(wide.id));
    expect(Object.keys(Object.assign({}, ...kept.map((r) => r.features))).length).toBe(Object.keys(toWire(wide).features).length);
    answer({ accepted: 1, rejected: [] });
  });

  it("beacons the report cut as the page goes also behind more unsent reports than a batch takes: it is saved nowhere else", async () => {
    const accepted = () => ({ accepted: 1, rejected: [] });
    const { api, beaconed } = fakeApi([() => new Promise(() => {}), accepted, accepted, accepted]);
    // the writes made as the page goes never land
    const { saved, store, leave } = storeLosingWritesOnLeave();
    // a batch takes a quarter of maxEntries: 2 reports
    const options = { store, api, clock: manualClock(), bounds: { ...QUEUE_BOUNDS, maxEntries: 8 }, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    /** A report of `rows` rows of its own stream (segment `s`). */
    const of = (rows: number, s: string) => Object.assign(filled(rows), { segment: { backend: "wasm", s } });
    await q.add(of(1, "a"));
    await q.add(of(2, "b"));
    // a batch in flight, unanswered, and three reports of other streams cut meanwhile (stored)
    void q.flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const s of ["c", "d", "e"]) await q.add(of(10, s));
    leave();
    const cut = of(7, "f");
    void q.add(cut);
    q.beacon();
    // the next page sends what the store holds
    const next = new ReportQueue({ ...options, store: saved });
    await next.load("churn");
    const sentIds = new Set([...beaconed.flat(), ...next.entries.map((e) => e.report)].map((r) => r.id));
    expect(sentIds.has(cut.id), "the cut's 7 rows beaconed or kept").toBe(true);
  });

  it("beacons the newest reports first as the page goes: the cut made then, saved nowhere else, before stored ones the next page sends anyway", async () => {
    const { api, beaconed } = fakeApi([]);
    const q = new ReportQueue({ store: memoryStore(), api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    /** A report of its own stream (segment `s`) with `copies` more features, cut at `end`. */
    const wide = (s: string, copies: number, end: number) => {
      const d = Object.assign(filled(2000), { segment: { backend: "wasm", s }, end });
      for (let f = 0; f < copies; f++) d.features[`n${f}`] = d.features.tenure!;
      return d;
    };
    // two stored reports that fill most of a beacon, and the cut made as the page goes: all three do not fit
    const stored = [wide("a", 24, 2_000), wide("b", 24, 2_000)];
    const cut = wide("c", 20, 9_000);
    const chars = [...stored, cut].map((d) => JSON.stringify(toWire(d)).length);
    expect(chars[0]! + chars[1]!).toBeLessThanOrEqual(60_000);
    expect(chars[0]! + chars[1]! + chars[2]!).toBeGreaterThan(60_000);
    for (const d of [...stored, cut]) await q.add(d);
    q.beacon();
    // then the stored one changed last
    expect(beaconed.map((b) => b.map((r) => r.id))).toEqual([[cut.id, stored[1]!.id]]);
  });

  it("beacons the report cut as the page goes first also when the clock was set back since the stored ones were cut: it is saved nowhere else", async () => {
    const collector = dedupingCollector();
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const options = { store, api: collector.api, clock: manualClock(), bounds: QUEUE_BOUNDS, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} };
    const q = new ReportQueue(options);
    /** A report of `rows` rows of its own stream (segment `s`) with `copies` more features, cut at `end`. */
    const wide = (rows: number, s: string, copies: number, end: number) => {
      const d = Object.assign(filled(rows), { segment: { backend: "wasm", s }, start: end - 1000, end });
      for (let f = 0; f < copies; f++) d.features[`n${f}`] = d.features.tenure!;
      return d;
    };
    // two stored reports that fill most of a beacon, cut at 9 s; the device's clock is then set back to 5 s
    await q.add(wide(2000, "a", 24, 9_000));
    await q.add(wide(2000, "b", 24, 9_000));
    leave();
    void q.add(wide(2000, "c", 20, 5_000), true);
    q.beacon();
    await nextPageSends({ ...options, store: saved });
    expect(collector.counted()).toEqual({ rows: 6000, dropped: 0 });
  });

  it("splits by features within the byte limit, the first part keeping every other sketch, the same parts each time", () => {
    const report = toWire(filled(50));
    const sketchBytes = (r: Report) => [...Object.values(r.features), r.prediction, r.latency, r.errors].reduce((n, s) => n + (s?.length ?? 0), 0);
    expect(splitReport(report)).toEqual([report]);
    const max = Math.max(...Object.values(report.features).map((f) => f.length)) + (report.prediction!.length + report.latency!.length + report.errors!.length);
    const parts = splitReport(report, max);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => [p.id, p.part, p.rows])).toEqual(parts.map((_, i) => [i ? `${report.id}-${i}` : report.id, i || undefined, 50]));
    expect(parts.slice(1).every((p) => !p.prediction && !p.latency && !p.errors)).toBe(true);
    expect(Object.assign({}, ...parts.map((p) => p.features))).toEqual(report.features);
    for (const p of parts) {
      expect(sketchBytes(p)).toBeLessThanOrEqual(max);
      expect(reportSchema.safeParse(p).success).toBe(true);
    }
    expect(splitReport(report, max)).toEqual(parts);
  });

  it("keeps a report's embedding in its first part only, so no part passes the limit and the collector adds it once", () => {
    const draft = filled(50);
    const projector = new EmbeddingProjector({ length: 8, dims: 4, features: 16, seed: 7, bandwidth: 1 });
    const embedding = (draft.embedding = projector.sketch());
    for (let r = 0; r < 50; r++)
      projector.add(
        embedding,
        Array.from({ length: 8 }, (_, j) => r + j),
      );
    const report = toWire(draft);
    const max = Math.max(...Object.values(report.features).map((f) => f.length)) + otherSketchChars(report);
    const parts = splitReport(report, max);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.embedding !== undefined)).toEqual(parts.map((_, i) => i === 0));
    for (const p of parts) expect(Object.values(p.features).reduce((n, s) => n + s.length, otherSketchChars(p))).toBeLessThanOrEqual(max);
  });
});
