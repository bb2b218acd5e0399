// The device side of prediction logging: a bounded buffer that says what it dropped, one batch in
// flight resent as is, labels joined to waiting rows or sent after sent ones, nothing kept once the
// model's logging is turned off. Real store (memory) and a scripted collector.
import { describe, expect, it } from "vitest";
import { DriftlineError } from "../../../protocol/errors.ts";
import { LIMITS, MAX_LOG_AGE_MS, MAX_LOG_ROWS_PER_BATCH, MAX_LOG_VALUE_LENGTH } from "../../../protocol/limits.ts";
import { logBatchSchema, type LogBatch } from "../../../protocol/schema/prediction-log.ts";
import type { Api } from "../../../runtime/api.ts";
import type { Model } from "../../../runtime/model-loader.ts";
import { memoryStore } from "../../../runtime/model-store.ts";
import type { ModelStore } from "../../../runtime/types.ts";
import { LOG_CAPACITY, PredictionLog } from "../../../runtime/prediction-log.ts";
import { copyingStore, storeLandingLate, storeLosingWritesOnLeave } from "../../fixtures/page-stores.ts";

const model = { version: 3, manifest: { features: [{ name: "tenure" }, { name: "plan" }] } } as unknown as Model;

/** Batch ids, distinct across the rigs of a test (a page and the next). */
let ids = 0;

/**
 * A log whose collector answers with `answers` in turn (an Error is thrown), recording each batch
 * sent; its clock reads `now`; its beacon takes bodies of at most `beaconChars` (the page's
 * keepalive budget left), recording the batches it takes; it keeps what it saves in `store`.
 */
function rig(answers: Array<unknown>, now: number | (() => number) = 1_000, beaconChars = Infinity, store: ModelStore = memoryStore()) {
  const sent: LogBatch[] = [];
  const beaconed: LogBatch[] = [];
  const errors: string[] = [];
  const api = {
    logs: async (batch: LogBatch) => {
      sent.push(structuredClone(batch));
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    beacon: (_path: string, body: string) => body.length <= beaconChars && beaconed.push(JSON.parse(body) as LogBatch) > 0,
  } as unknown as Api;
  const log = new PredictionLog(
    store,
    "log:m",
    api,
    { model: "m", client: "c" },
    () => `b${++ids}`,
    (e) => errors.push(e.code),
    { now: typeof now === "number" ? () => now : now },
  );
  return { log, sent, beaconed, errors, store };
}

/** Offers `n` rows as one call with id prefix `call.` at rate 1. */
function offer(log: PredictionLog, n: number, call = "x") {
  const staged = new Float64Array(2 * n);
  for (let r = 0; r < n; r++) staged[n + r] = 0.5;
  log.offer(model, 1, 1_000, { backend: "wasm" }, `${call}.`, (r) => ({ tenure: r, plan: "pro", extra: "not a feature" }), n, staged, 0, ["no", "yes"]);
}

/** The page goes away as runtime.ts's pagehide handler has it: the report cut saves the log, then its beacon. */
function pagehide(log: PredictionLog) {
  void log.save();
  log.beacon(1);
}

/** The next page: a log that adopts what `store` holds and sends it, its collector taking every batch. */
async function nextPage(store: ModelStore, now: Parameters<typeof rig>[1] = 1_000) {
  const next = rig(Array(10).fill({}), now, Infinity, store);
  await next.log.load();
  await next.log.flush(1);
  return next;
}

/**
 * What reached the collector of these batches (beaconed and sent, by a page and the next), which
 * writes a batch id once: the batches, their row ids (a row of two batches twice), how many rows
 * came more than once, distinct rows plus the batches' `dropped`, and the ids of their labels.
 */
function reached(...lists: LogBatch[][]) {
  const batches = [...new Map(lists.flat().map((b) => [b.id, b])).values()];
  const rows = batches.flatMap((b) => b.rows.map((r) => r.id));
  const distinct = new Set(rows).size;
  const dropped = batches.reduce((n, b) => n + (b.dropped ?? 0), 0);
  return { batches, rows, twice: rows.length - distinct, counted: distinct + dropped, labels: batches.flatMap((b) => b.labels.map((l) => l.id)) };
}

/**
 * A log with two batches in flight: the first's request unanswered until `answer()` (of the rows
 * `first` logs, 10 by default), the second a beacon's of 20 rows more (the page gone into the
 * back-forward cache), its save landed. Its collector answers `{}` after the first.
 */
async function twoInFlight(store: ModelStore = memoryStore(), first = (log: PredictionLog) => offer(log, 10, "first")) {
  let answer: (value: unknown) => void = () => {};
  const r = rig([new Promise((resolve) => (answer = resolve)), ...Array<unknown>(5).fill({})], 1_000, 60_000, store);
  first(r.log);
  const flushing = r.log.flush(1);
  await new Promise((resolve) => setTimeout(resolve, 0));
  offer(r.log, 20, "then");
  r.log.beacon(1);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { ...r, answer, flushing };
}

const status = (s: number) => Object.assign(new DriftlineError(s >= 500 ? "unavailable" : "validation", String(s)), { status: s });

describe("PredictionLog", () => {
  it("keeps at most LOG_CAPACITY rows, sends batches of at most MAX_LOG_ROWS_PER_BATCH and counts what it dropped", async () => {
    const { log, sent } = rig([{}, {}, {}]);
    offer(log, LOG_CAPACITY + 123);
    await log.flush(1);
    expect(sent.map((b) => b.rows.length)).toEqual([MAX_LOG_ROWS_PER_BATCH, LOG_CAPACITY - MAX_LOG_ROWS_PER_BATCH]);
    expect(sent[0]!.dropped).toBe(123);
    expect(sent[0]!.rows[0]!.id).toBe("x.123");
    for (const b of sent) expect(logBatchSchema.safeParse(b).success).toBe(true);
    expect(sent[0]!.rows[0]).toEqual({ id: "x.123", version: 3, t: 1_000, segment: { backend: "wasm" }, inputs: { tenure: 123, plan: "pro" }, label: "no", score: 0.5 });
  });

  it("sends every row of long texts in batches within the collector's body limit, and drops and counts a row no batch has room for", async () => {
    // the collector answers 413 to a body over LIMITS.logBatchBytes, as POST /v1/logs does
    const sent: LogBatch[] = [];
    const errors: string[] = [];
    const bodies: number[] = [];
    const api = {
      logs: async (batch: LogBatch) => {
        const bytes = new TextEncoder().encode(JSON.stringify(batch)).length;
        bodies.push(bytes);
        if (bytes > LIMITS.logBatchBytes) throw status(413);
        sent.push(batch);
      },
    } as unknown as Api;
    let ids = 0;
    const log = new PredictionLog(
      memoryStore(),
      "log:m",
      api,
      { model: "m", client: "c" },
      () => `b${++ids}`,
      (e) => errors.push(e.code),
      { now: () => 1_000 },
    );
    // three text features of 1,024 characters, none of them ASCII: ~6 KB a row, ~3 MB for 500
    const wide = { version: 1, manifest: { features: ["a", "b", "c"].map((name) => ({ name })) } } as unknown as Model;
    const text = "é".repeat(MAX_LOG_VALUE_LENGTH);
    const n = MAX_LOG_ROWS_PER_BATCH;
    log.offer(wide, 1, 1_000, {}, "w.", () => ({ a: text, b: text, c: text }), n, new Float64Array(2 * n).fill(-1), 0, undefined);
    await log.flush(1);
    expect({ errors, rows: sent.flatMap((b) => b.rows).length, most: Math.max(...bodies) <= LIMITS.logBatchBytes }).toEqual({ errors: [], rows: n, most: true });
    // a row of 512 such features (1.5 MB) fits no batch: dropped and counted, not sent for ever
    const widest = { version: 1, manifest: { features: Array.from({ length: 512 }, (_, i) => ({ name: `f${i}` })) } } as unknown as Model;
    log.offer(widest, 1, 1_000, {}, "x.", () => Object.fromEntries(Array.from({ length: 512 }, (_, i) => [`f${i}`, text])), 1, new Float64Array(2).fill(-1), 0, undefined);
    offer(log, 1, "y");
    await log.flush(1);
    expect(sent.at(-1)).toMatchObject({ rows: [{ id: "y.0" }], dropped: 1 });
  });

  it("drops and counts rows older than the collector takes rather than have them refuse fresh ones, and counts the rows of a batch refused for good", async () => {
    const now = 10 * 86_400_000;
    // the collector refuses a batch holding a row over 7 days old (400), and one of a version the
    // rollout moved away from while the device was offline (403)
    const notAssigned = Object.assign(new DriftlineError("not_assigned", "version 3 is not assigned to this client"), { status: 403 });
    const { log, sent, errors } = rig([{}, notAssigned, {}], now);
    const at = (t: number, n: number, call: string) => log.offer(model, 1, t, {}, `${call}.`, (r) => ({ tenure: r, plan: "pro" }), n, new Float64Array(2 * n).fill(-1), 0, undefined);
    at(now - 8 * 86_400_000, 3, "old");
    at(now - 60_000, 2, "new");
    await log.flush(1);
    at(now, 4, "refused");
    await log.flush(1);
    at(now, 1, "next");
    await log.flush(1);
    expect(errors).toEqual(["not_assigned"]);
    expect(sent.map((b) => [b.rows.map((r) => r.id), b.dropped])).toEqual([
      [["new.0", "new.1"], 3],
      [["refused.0", "refused.1", "refused.2", "refused.3"], undefined],
      [["next.0"], 4],
    ]);
  });

  it("resends the batch in flight unchanged after failures a retry may cure, and drops it on a refusal", async () => {
    const { log, sent, errors } = rig([new DriftlineError("network", "down"), status(503), {}, status(400)]);
    offer(log, 2, "a");
    await log.flush(1);
    offer(log, 1, "b");
    await log.flush(1);
    await log.flush(1);
    const first = sent[0]!.id;
    expect(sent.map((b) => [b.id === first, b.rows.map((r) => r.id)])).toEqual([
      [true, ["a.0", "a.1"]],
      [true, ["a.0", "a.1"]],
      [true, ["a.0", "a.1"]],
      [false, ["b.0"]],
    ]);
    expect(errors).toEqual(["validation"]);
  });

  it("as the page goes away, beacons a smaller batch of the rows logged since the last save while the beacon refuses one, counts those it leaves as dropped, and keeps the saved ones", async () => {
    const { log, sent, beaconed } = rig([{}, {}], 1_000, 10_000);
    offer(log, 100, "saved");
    await log.save();
    offer(log, 200, "new");
    log.beacon(1);
    expect(beaconed).toHaveLength(1);
    const [batch] = beaconed;
    expect(JSON.stringify(batch).length).toBeLessThanOrEqual(10_000);
    expect(batch!.rows.length).toBeGreaterThan(0);
    expect(batch!.rows.every((r) => r.id.startsWith("new."))).toBe(true);
    // the rest of the 200 rows since the save go with the page: counted, not kept
    expect(batch!.rows.length + batch!.dropped!).toBe(200);
    // a page that lives on (the back-forward cache) sends the beaconed batch unchanged, then the saved rows
    await log.flush(1);
    expect(sent[0]).toEqual(batch);
    expect(
      sent
        .slice(1)
        .flatMap((b) => b.rows)
        .map((r) => r.id),
    ).toEqual(Array.from({ length: 100 }, (_, i) => `saved.${i}`));
  });

  it("where the writes made as the page goes land (browsers that keep them), the next page sends the beaconed batch again as it is: nothing counted twice", async () => {
    const store = copyingStore();
    const { log, beaconed } = rig([], 1_000, 10_000, store);
    offer(log, 300);
    pagehide(log);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const [batch] = beaconed;
    const next = await nextPage(store);
    expect(next.sent[0]).toEqual(batch);
    // the collector writes a batch id once: what reached it is the rows by id and each batch's dropped once
    expect(reached(beaconed, next.sent).counted).toBe(300);
  });

  it("as a page goes whose writes then are lost (Chromium), beacons only what no finished save holds: the next page sends the rest, nothing reaches the collector twice", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    // the collector down: the first batch in flight, LOG_CAPACITY rows (5 dropped by the capacity) and a label wait, saved by a report cut
    const { log, beaconed } = rig([new DriftlineError("network", "down")], 1_000, 10_000, store);
    offer(log, 1, "sent");
    await log.flush(1);
    offer(log, LOG_CAPACITY + 5, "saved");
    log.label("sent.0", "yes");
    await log.save();
    // then 200 rows more and a label for a saved row, and the page goes: its report cut's save is lost, then the beacon
    offer(log, 200, "new");
    log.label("saved.600", "no");
    leave();
    pagehide(log);
    const next = await nextPage(saved);
    // the collector writes a batch id once
    const got = reached(beaconed, next.sent);
    expect(got.twice).toBe(0);
    expect(got.labels.sort()).toEqual(["saved.600", "sent.0"]);
    expect(got.counted).toBe(1 + LOG_CAPACITY + 5 + 200);
    // the beacon took rows logged since the save
    expect(beaconed.at(-1)!.rows.length).toBeGreaterThan(0);
    expect(beaconed.at(-1)!.rows.every((r) => r.id.startsWith("new."))).toBe(true);
  });

  it("counts the rows and the dropped of an adopted batch in flight the collector refuses for good (kept unsent past its age limit)", async () => {
    const day = 86_400_000;
    const store = copyingStore();
    // the page closed while its batch (which counts 5 rows dropped) was unsent: the network down
    const first = rig([new DriftlineError("network", "down")], 1_000, Infinity, store);
    offer(first.log, LOG_CAPACITY + 5);
    await first.log.flush(1);
    expect(first.sent[0]!.dropped).toBe(5);
    // the next page, 8 days on: the collector refuses rows over 7 days old (400), as POST /v1/logs does
    const next = rig([status(400), {}, {}], 1_000 + 8 * day, Infinity, store);
    await next.log.load();
    await next.log.flush(1);
    next.log.offer(model, 1, 1_000 + 8 * day, {}, "fresh.", () => ({ tenure: 1, plan: "pro" }), 1, new Float64Array(2).fill(-1), 0, undefined);
    await next.log.flush(1);
    expect(next.sent[0]!.id).toBe(first.sent[0]!.id);
    const taken = next.sent.slice(1);
    expect(taken.flatMap((b) => b.rows.map((r) => r.id))).toEqual(["fresh.0"]);
    // every row of the first page is counted as dropped, once
    expect(taken.reduce((n, b) => n + (b.dropped ?? 0), 0)).toBe(LOG_CAPACITY + 5);
  });

  it("counts the rows logged after the page came back from the back-forward cache as saved nowhere, whenever the saves begun as it went land", async () => {
    // the writes begun as the page goes land when the test says
    const { store, land, release } = storeLandingLate();
    const { log, sent, beaconed } = rig([{}], 1_000, 10_000, store);
    offer(log, 300, "before");
    // the page goes into the back-forward cache: the report cut saves, then the beacon (and its save)
    pagehide(log);
    release();
    // it comes back: the beaconed batch is answered, 300 more rows are logged, and only then do the held saves land
    await log.flush(1);
    offer(log, 300, "after");
    await land();
    // it goes for good
    log.beacon(1);
    const got = reached(beaconed, sent);
    expect(got.batches).toHaveLength(2);
    expect(got.counted).toBe(600);
  });

  it("beacons beside a batch in flight a batch of the rows logged since, and a page that lives on sends both, each once", async () => {
    let answer: (value: unknown) => void = () => {};
    const { log, sent, beaconed } = rig([new Promise((resolve) => (answer = resolve)), {}], 1_000, 60_000);
    offer(log, 10, "first");
    // the first batch's request is unanswered as the page goes
    const flushing = log.flush(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    offer(log, 20, "then");
    log.beacon(1);
    expect(beaconed.map((b) => b.rows.length)).toEqual([10, 20]);
    // the page lived on (back-forward cache): the first is answered, the second goes next, unchanged
    answer({});
    await flushing;
    expect(sent.map((b) => b.id)).toEqual(beaconed.map((b) => b.id));
    expect(sent[1]).toEqual(beaconed[1]);
  });

  it("with two batches in flight as the page goes for good, beacons a third of the rows logged since (none is lost uncounted); the next page sends the two again unchanged", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const { log, beaconed } = await twoInFlight(store);
    // the page came back, 30 rows more; it goes for good, its writes lost
    offer(log, 30, "last");
    leave();
    pagehide(log);
    const next = await nextPage(saved);
    expect(next.sent).toEqual(beaconed.slice(0, 2));
    const got = reached(beaconed, next.sent);
    expect(got.twice).toBe(0);
    expect(got.counted).toBe(60);
  });

  it("with two batches in flight, a page that lives on sends again the rows a third beaconed batch took: an export reads each once", async () => {
    const { log, sent, beaconed, answer, flushing } = await twoInFlight();
    offer(log, 30, "last");
    log.beacon(1);
    expect(beaconed.map((b) => b.rows.length)).toEqual([10, 20, 10, 20, 30]);
    answer({});
    await flushing;
    await log.flush(1);
    const rows = new Set(reached(beaconed, sent).rows);
    expect(rows.size).toBe(60);
    expect(sent.flatMap((b) => b.rows).filter((r) => r.id.startsWith("last."))).toHaveLength(30);
  });

  it("with two batches in flight, the rows a third beaconed batch took and the log then drops (its capacity) are not counted as dropped too", async () => {
    const store = copyingStore();
    // the page goes into the back-forward cache twice: a second batch of 20, then a third of 30 (not kept)
    const { log, beaconed } = await twoInFlight(store);
    offer(log, 30, "last");
    log.beacon(1);
    // it lives on: LOG_CAPACITY rows more push the 30 out; a report cut saves the log, and the page is gone
    offer(log, LOG_CAPACITY, "more");
    await log.save();
    const next = await nextPage(store);
    expect(reached(beaconed, next.sent).counted).toBe(10 + 20 + 30 + LOG_CAPACITY);
  });

  it("with two batches in flight that leave the beacon no room, counts the rows logged since as dropped in a batch of one of them", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    // the first batch (~58 KB of wide rows) and the second use up the page's 60,000 B
    const wide = (log: PredictionLog) => log.offer(model, 1, 1_000, {}, "wide.", (r) => ({ tenure: r, plan: "p".repeat(100) }), 300, new Float64Array(600).fill(-1), 0, undefined);
    const { log, beaconed } = await twoInFlight(store, wide);
    // it comes back, 30 rows more; it goes for good, its writes lost
    offer(log, 30, "last");
    leave();
    pagehide(log);
    const next = await nextPage(saved);
    expect(JSON.stringify(beaconed[0]).length + JSON.stringify(beaconed[1]).length).toBeGreaterThan(59_000);
    expect(reached(beaconed, next.sent).counted).toBe(300 + 20 + 30);
  });

  it("beacons no label older than the collector takes (it would refuse the batch, and the rows beside it)", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    let now = 1_000;
    const { log, sent, beaconed } = rig([{}], () => now, Infinity, store);
    offer(log, 1, "sent");
    await log.flush(1);
    // 8 days on (a tab left open), a label for the row sent then, and a row logged now; the page goes, its writes lost
    now += 8 * 86_400_000;
    log.label("sent.0", "yes");
    log.offer(model, 1, now, {}, "new.", () => ({ tenure: 1, plan: "pro" }), 1, new Float64Array(2).fill(-1), 0, undefined);
    leave();
    pagehide(log);
    // the collector refuses (400) a batch holding an entry older than MAX_LOG_AGE_MS
    const refused = (b: LogBatch) => [...b.rows, ...b.labels].some((e) => e.t < now - MAX_LOG_AGE_MS);
    const next = await nextPage(saved, now);
    expect(
      reached(
        sent,
        beaconed.filter((b) => !refused(b)),
        next.sent,
      ).counted,
    ).toBe(1 + 1);
  });

  it("leaves no stale copy in a store that refuses its writes (full): rows the collector took are not sent again by the next page", async () => {
    const memory = copyingStore();
    let full = false;
    const quota = () => Promise.reject(new DOMException("full", "QuotaExceededError"));
    const store: ModelStore = { ...memory, put: (...a) => (full ? quota() : memory.put(...a)) };
    const { log, sent, beaconed } = rig([{}, {}], 1_000, Infinity, store);
    offer(log, 10, "a");
    await log.save();
    // the store fills up: the saves after the batch is made, and after it is answered, fail
    full = true;
    await log.flush(1);
    offer(log, 5, "b");
    log.beacon(1);
    const next = await nextPage(memory);
    const got = reached(sent, beaconed, next.sent);
    expect(got.twice).toBe(0);
    expect(got.counted).toBe(15);
  });

  it("keeps every row when the beacon refuses even its smallest batch", async () => {
    const { log, sent, beaconed } = rig([{}], 1_000, 0);
    offer(log, 30);
    log.beacon(1);
    expect(beaconed).toEqual([]);
    await log.flush(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.rows).toHaveLength(30);
    expect(sent[0]!.dropped).toBeUndefined();
  });

  it("joins a label to a waiting row, and sends one for a row already sent", async () => {
    const { log, sent } = rig([{}, {}]);
    offer(log, 2);
    log.label("x.0", "yes");
    await log.flush(1);
    log.label("x.1", "no");
    log.label("unknown.0", "no");
    await log.flush(1);
    expect(sent[0]!.rows.map((r) => r.actual)).toEqual(["yes", undefined]);
    expect(sent[1]).toMatchObject({ rows: [], labels: [{ id: "x.1", version: 3, t: 1_000, actual: "no" }] });
  });

  it("keeps waiting rows across reloads, and discards them once the model's log rate is 0", async () => {
    const { log, store, sent } = rig([]);
    offer(log, 3);
    await log.save();
    const again = new PredictionLog(
      store,
      "log:m",
      { logs: async (b: LogBatch) => sent.push(b) } as unknown as Api,
      { model: "m", client: "c" },
      () => "b9",
      () => {},
      { now: () => 1_000 },
    );
    await again.load();
    await again.flush(0);
    expect(sent).toEqual([]);
    await again.flush(1);
    expect(sent).toEqual([]);
  });

  it("beacons the rows it adopted when its own save of them failed (the store full): the store holds them nowhere once adopted", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    const first = rig([], 1_000, Infinity, store);
    offer(first.log, 10, "kept");
    await first.log.save();
    // the next page: the store takes no more writes (its quota reached); deleting still works
    const full: ModelStore = { ...store, put: () => Promise.reject(new DOMException("full", "QuotaExceededError")) };
    const next = rig([], 1_000, Infinity, full);
    await next.log.load();
    // the collector down while it runs; it goes, its writes lost
    leave();
    void next.log.save();
    next.log.beacon(1);
    const last = rig([{}, {}], 1_000, Infinity, saved);
    await last.log.load();
    await last.log.flush(1);
    expect(reached(next.beaconed, last.sent).counted).toBe(10);
  });

  it("a label fed back for a waiting row while a save of the row is under way reaches the collector once that save lands and the page goes", async () => {
    const { saved, store, land, leave } = storeLandingLate();
    const { log, beaconed } = rig([], 1_000, Infinity, store);
    offer(log, 3, "r");
    // a report cut saves the rows; the label comes before that write lands
    void log.save();
    log.label("r.1", "yes");
    await land();
    // the page goes: its writes lost
    leave();
    pagehide(log);
    const next = await nextPage(saved);
    const { batches, rows } = reached(beaconed, next.sent);
    const labels = batches.flatMap((b) => [...b.rows.filter((r) => r.actual !== undefined), ...b.labels].map((l) => l.id));
    expect({ rows: rows.sort(), labels }).toEqual({ rows: ["r.0", "r.1", "r.2"], labels: ["r.1"] });
  });

  it("beacons the rows logged since beside a batch in flight too large for the beacon: that batch takes none of the page's keepalive budget", async () => {
    const { saved, store, leave } = storeLosingWritesOnLeave();
    // the page's 60,000 B of keepalive left; a full batch of wide rows (~100 KB) in flight, unanswered
    const { log, beaconed } = rig([new Promise(() => {})], 1_000, 60_000, store);
    const n = MAX_LOG_ROWS_PER_BATCH;
    log.offer(model, 1, 1_000, {}, "wide.", (r) => ({ tenure: r, plan: "p".repeat(100) }), n, new Float64Array(2 * n).fill(-1), 0, undefined);
    void log.flush(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    offer(log, 20, "then");
    // the page goes: its writes lost
    leave();
    pagehide(log);
    const next = await nextPage(saved);
    expect(reached(beaconed, next.sent).counted).toBe(n + 20);
  });

  it("leaves to the next page what a save begun before the page went holds, landing only after it went: nothing reaches the collector twice", async () => {
    const { saved, store, land, leave } = storeLandingLate();
    const { log, beaconed } = rig([], 1_000, Infinity, store);
    // the collector down: LOG_CAPACITY rows wait and 50 were dropped; a report cut saves them, and that write is under way as the page goes
    offer(log, LOG_CAPACITY + 50);
    void log.save();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // the page goes: the writes begun now are lost; the one begun before lands (Chromium drops only the former)
    leave();
    pagehide(log);
    await land();
    const next = await nextPage(saved);
    const { twice, counted } = reached(beaconed, next.sent);
    expect({ twice, counted }).toEqual({ twice: 0, counted: LOG_CAPACITY + 50 });
  });

  it("as the page goes while the batch beside the one answered waits to be sent, beacons the rows logged since beside it", async () => {
    const { saved, store, land, leave } = storeLandingLate();
    let answer: (value: unknown) => void = () => {};
    const { log, beaconed } = rig([new Promise((resolve) => (answer = resolve))], 1_000, 60_000, store);
    const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
    offer(log, 10, "first");
    void log.flush(1);
    await land();
    await tick();
    // its request unanswered, 20 rows more, and the page goes into the back-forward cache: both batches beaconed
    offer(log, 20, "then");
    pagehide(log);
    // it comes back and its writes land; the first batch is answered: the log saves before it sends the second
    await land();
    answer({});
    await tick();
    offer(log, 5, "more");
    // the page goes for good: its writes then lost, the one under way lands
    leave();
    pagehide(log);
    await land();
    const next = await nextPage(saved);
    // (what the first page sent after it went is not counted: it went)
    expect(reached(beaconed, next.sent).counted).toBe(35);
  });
});
