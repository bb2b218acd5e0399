import { DurableObject } from "cloudflare:workers";
import { type ErrorCode, isDriftlineError } from "../../protocol/errors.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { chunkLimits, dedupeMaxIds, flushIntervalMs, flushMaxReports, HOUR_ROLLS_AFTER_MS, maxCombinations, segmentLimits, senderBudgetMaxRows, senderBudgetPerMinute } from "../config.ts";
import { openDb } from "../db/client.ts";
import { findVersion } from "../db/versions.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { type Refusal, type VersionSchema, checkReport, versionSchema } from "./check-report.ts";
import { PendingChunk, type PendingSource, sourceAggregate } from "./pending-chunk.ts";
import { type RollUpTarget, dayTargets, hourRollsBy, joinTargets, planRollUp } from "./roll-up.ts";
import { type RowKey, filingWindow, rowId } from "../aggregates/rows.ts";
import { CombinationCap } from "./combination-cap.ts";
import { SegmentCap } from "./segment-cap.ts";
import { DEDUPE_MS, MAX_FUTURE_MS, MAX_REPORT_AGE_MS, SenderBudget } from "./sender-budget.ts";
import { CARRIER_DEDUPE_MS, isCarrier, redateStaleCarrier } from "./stale-carrier.ts";
import { SeenIds } from "./seen-ids.ts";
import { type PartWeight, type ToLog, partGroups } from "./report-parts.ts";
import type { AttributedReport } from "../aggregates/sender-tally.ts";
import { canonicalSegment } from "../../protocol/segment.ts";
import { type PackedRow, type QuarantinedRow, lastStoredChunk, oldestUnrolledHour, readOwnRows, storedTotals, unrolledHours, writeFlush, writeRollUp } from "../aggregates/store.ts";
import { addToTotals, markCounted, totalsCounted, totalsOf } from "../aggregates/totals.ts";
import { packAggregate, unpackAggregate } from "../aggregates/stored-aggregate.ts";

/** What became of one report of a batch. */
export type IngestOutcome = { id: string; status: "accepted" | "duplicate" } | { id: string; status: "rejected"; code: ErrorCode; message: string };

/** Counters of one aggregator object (they survive restarts). */
export interface AggregatorStats {
  object: string;
  accepted: number;
  duplicates: number;
  rejected: number;
  flushes: number;
  /** Aggregate rows upserted into D1. */
  upserts: number;
  /** D1's count of rows written (aggregates, flush records, segment values). */
  rowsWritten: number;
  /** Bytes of aggregate data (the stored text) written to D1 by flushes. */
  bytesWritten: number;
  /** Milliseconds spent storing chunks (read, merge, encode, write; wall clock, as the runtime's clock advances). */
  flushMs: number;
  /** Reports accepted but not yet in D1. */
  pending: number;
  /** Stored rows and logged reports set aside because they could not be read or merged, by reason. */
  quarantined: Record<string, number>;
  /** The most the object's pending aggregates and the slice of a batch it was examining were estimated to hold in memory, bytes (see docs/ingest.md). */
  peakPendingBytes: number;
  /** Report ids kept to deduplicate (at most `DEDUPE_MAX_IDS`: ./seen-ids.ts). */
  idsKept: number;
  /** Report ids let go before their time because `DEDUPE_MAX_IDS` were kept: those reports would count again if sent again. */
  idsEvicted: number;
}

/** A version that does not exist is looked up again after this long. */
const MISSING_VERSION_RETRY_MS = 10_000;
/** A failed flush is retried after this long. */
const RETRY_MS = 30_000;
/** The mark of log entries taken into the chunk being built, before it has its id. */
const DRAFT_CHUNK = -1;
/** Log entries read at a time when draining the log. */
const LOG_PAGE = 64;
/** Hour rows rolled into their days per D1 batch (each decoded in memory with its day row). */
const ROLL_UP_PAGE = 8;
/** The estimated heap of a batch's decoded reports at which it is logged before more are decoded. */
const SLICE_BYTES = 16 * 1024 * 1024;

const COUNTERS = ["accepted", "duplicates", "rejected", "flushes", "upserts", "rowsWritten", "bytesWritten", "flushMs", "idsEvicted"] as const;
type Counter = (typeof COUNTERS)[number];

/** A row of the pending log. */
type LoggedReport = {
  seq: number;
  version: number;
  role: string;
  granularity: RowKey["granularity"];
  minute: number;
  segment: string;
  report: string;
};

/**
 * The aggregator of one model shard (`model:shard`). Per report it deduplicates by id, checks
 * the report against its version's manifest and its own row count, and logs it in its SQLite
 * storage before answering (so an acknowledged report survives eviction). The log is the
 * truth; merged aggregates in memory are a bounded cache of it ({@link PendingChunk}). A flush
 * stores one chunk of log entries: it marks them with the chunk's id, then writes the minute,
 * hour and day rows and that id in one D1 batch, then deletes them; flushes run one at a time,
 * so after any failure the id in D1 tells whether the marked entries are stored. When the cache
 * is over its budget, lost in a failed flush, or absent after a restart, flushes drain the log
 * in bounded chunks, oldest windows first (a backfill rewrites each hour row about once):
 * memory stays bounded whatever the backlog (docs/ingest.md). The object is the only writer of
 * its D1 rows, so read-modify-write needs no locking.
 */
export class ModelAggregator extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Log entries after the last flush, merged; undefined while the log must be drained instead. */
  private memory: PendingChunk | undefined = new PendingChunk();
  /** The chunk a flush is writing, if any. */
  private writing: PendingChunk | undefined;
  private pendingReports = 0;
  private peakBytes = 0;
  private seq = 0;
  private object: { name: string; model: string; shard: number } | undefined;
  private readonly schemas = new Map<number, { schema: VersionSchema | null; at: number }>();
  private cap: SegmentCap | undefined;
  private readonly combinations: CombinationCap;
  private readonly seen: SeenIds;
  private readonly budget: SenderBudget;
  private readonly labelBudget: SenderBudget;
  private flushing: Promise<void> | undefined;
  /** The slice of a batch being ingested: one at a time, so one slice's decoded reports are held at most. */
  private slicing: Promise<unknown> = Promise.resolve();
  private alarmAt: number | null = null;
  /** When the oldest hour row this object wrote unrolled is due to roll into its day; undefined: none. */
  private rollAt: number | undefined;
  /** Whether the object's stored rows are known to be in `report_totals` (see {@link countTotals}). */
  private counted = false;

  /**
   * @param ctx - the object's state
   * @param env - the Worker's bindings
   */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.combinations = new CombinationCap(maxCombinations(env));
    this.sql.exec(`create table if not exists meta (key text primary key, value text not null);
      create table if not exists pending (seq integer primary key, version integer not null, role text not null,
        minute integer not null, segment text not null, report text not null);
      create table if not exists quarantine (seq integer primary key, reason text not null, report text not null, at integer not null);`);
    // added columns: the filing window's size (reports spanning over two minutes are filed by
    // hour or day) and the id of the chunk a flush is storing the entry in
    const columns = this.sql.exec<{ name: string }>("pragma table_info(pending)").toArray();
    if (!columns.some((c) => c.name === "granularity")) this.sql.exec("alter table pending add column granularity text not null default 'minute'");
    if (!columns.some((c) => c.name === "chunk")) this.sql.exec("alter table pending add column chunk integer");
    this.sql.exec("create index if not exists pending_window on pending (chunk, minute, seq)");
    this.seen = new SeenIds(this.sql, dedupeMaxIds(env));
    this.budget = new SenderBudget(this.sql, senderBudgetPerMinute(env), senderBudgetMaxRows(env));
    this.labelBudget = new SenderBudget(this.sql, senderBudgetPerMinute(env), senderBudgetMaxRows(env), "sender_labels");
    void ctx.blockConcurrencyWhile(() => this.start());
  }

  /**
   * Deduplicates, checks and logs a batch of one model's reports routed to this shard.
   * Every outcome is durable when this resolves.
   *
   * @param model - the model (all reports are of it)
   * @param shard - this object's shard
   * @param sent - reports that passed the wire schema, each with its sender
   */
  async ingest(model: string, shard: number, sent: AttributedReport[]): Promise<IngestOutcome[]> {
    this.identify(model, shard);
    const versions = new Set(sent.flatMap((r) => (r.shadow ? [r.version, r.shadow.version] : [r.version])));
    await Promise.all([...versions].map((v) => this.schemaOf(v)));
    const now = Date.now();
    // a runtime's carriers of rows dropped days ago count them now, not refused by age
    const reports = sent.map((r) => redateStaleCarrier(r, now));
    const outcomes: IngestOutcome[] = [];
    const inBatch = new Set<string>();
    for (let from = 0; from < reports.length; ) {
      const slice = this.slicing.then(() => this.ingestSlice(reports, from, now, inBatch, outcomes));
      this.slicing = slice.catch(() => undefined);
      from = await slice;
    }
    await this.scheduleAlarm();
    return outcomes;
  }

  /**
   * Examines reports of a batch from `from` on until their decoded aggregates are estimated to
   * hold {@link SLICE_BYTES}, then checks and logs them, adding their outcomes to `outcomes`: a
   * decoded sketch takes ~1.5 KB however few values it sends, so a batch of near-empty sketches
   * decoded whole held ~25 times its size (docs/ingest.md "Memory"). A split report's later parts
   * stay in their first part's slice, up to twice the bound.
   *
   * @returns where the next slice starts
   */
  private async ingestSlice(reports: AttributedReport[], from: number, now: number, inBatch: Set<string>, outcomes: IngestOutcome[]): Promise<number> {
    const examined: Array<ReturnType<ModelAggregator["examine"]> | undefined> = [];
    let held = 0;
    let to = from;
    for (; to < reports.length && (held < SLICE_BYTES || (reports[to]!.part !== undefined && held < 2 * SLICE_BYTES)); to++) {
      const report = reports[to]!;
      const e = this.seen.has(report.id) ? undefined : this.examine(report, now);
      if (e && "aggregate" in e) held += e.aggregate.memoryBytes();
      examined.push(e);
    }
    this.notePeak(held);
    const slice = reports.slice(from, to);
    // only reports that will be accepted count towards the segment caps
    const capped = await Promise.all(examined.map((e, i) => (e && "aggregate" in e ? this.cap!.admit(slice[i]!.segment) : undefined)));
    const capWrites = capped.reduce((n, c) => n + (c?.rowsWritten ?? 0), 0);
    if (capWrites) this.count("rowsWritten", capWrites);
    // From here on nothing awaits: the seen-check and the log insert of a report are atomic.
    const tally = { accepted: 0, duplicates: 0, rejected: 0 };
    const toLog: (ToLog | undefined)[] = [];
    const own = slice.map((report, i): IngestOutcome => {
      const e = examined[i];
      if (!e || inBatch.has(report.id) || this.seen.has(report.id)) {
        tally.duplicates++;
        return { id: report.id, status: "duplicate" };
      }
      if ("refusal" in e) {
        tally.rejected++;
        return { id: report.id, status: "rejected", ...e.refusal };
      }
      toLog[i] = { report, aggregate: e.aggregate, segment: canonicalSegment(capped[i]!.segment) };
      inBatch.add(report.id);
      tally.accepted++;
      return { id: report.id, status: "accepted" };
    });
    // the parts of a split report weigh once, at its first part's budget factor
    const { weights, firstOf } = partGroups(toLog);
    const groups = new Map<number, { factor: number; weighed: number }>();
    toLog.forEach((item, i) => {
      if (!item) return;
      const first = firstOf.get(i);
      const group = first === undefined ? undefined : groups.get(first)!;
      const heaviest = weights.get(i);
      const logged = this.log(item, now, group ? { later: true, ...group } : heaviest === undefined ? undefined : { later: false, heaviest });
      if (group) group.weighed += logged.weighed;
      else if (weights.has(i)) groups.set(i, logged);
    });
    for (const [counter, n] of Object.entries(tally)) if (n > 0) this.count(counter as Counter, n);
    if (this.memory?.full(chunkLimits(this.env))) {
      // flush the full chunk now; if a flush is still writing the previous one, let go of this
      // one instead (the log has it): memory never holds more than two chunks
      if (this.flushing) this.memory = undefined;
      else this.ctx.waitUntil(this.flush().catch((err) => console.error("aggregator flush failed; retrying from the log", err)));
    }
    outcomes.push(...own);
    return to;
  }

  /**
   * Flushes what is pending to D1 now, then rolls the hours that are due into their days (also
   * used by the admin flush route and tests).
   */
  async flush(): Promise<void> {
    return this.exclusive(async () => {
      if (this.pendingReports === 0 && !this.rollUpDue()) return;
      await this.flushAndRollUp();
    });
  }

  /**
   * Adds the object's stored rows to `report_totals` if they are not there yet (rows stored
   * before that table existed), so `/metrics` counts them; later flushes add their own reports.
   * Between this object's flushes and roll-ups, so its rows hold still while they are read.
   *
   * @param model - the model
   * @param shard - this object's shard
   */
  async countTotals(model: string, shard: number): Promise<void> {
    this.identify(model, shard);
    return this.exclusive(() => this.ensureCounted());
  }

  /** Runs `work` when no flush, roll-up or count runs: each reads the rows the one before wrote. */
  private async exclusive(work: () => Promise<void>): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    this.flushing = work().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** See {@link countTotals}: one D1 query per object's life once counted. */
  private async ensureCounted(): Promise<void> {
    if (this.counted) return;
    const { name, model, shard } = this.object!;
    const db = openDb(this.env);
    if (!(await totalsCounted(db, name))) {
      const totals = await storedTotals(db, model, shard);
      await db.batch([markCounted(db, name), ...addToTotals(db, model, totals)]);
    }
    this.counted = true;
  }

  private async flushAndRollUp(): Promise<void> {
    await this.ensureCounted();
    if (this.pendingReports > 0) await this.flushOnce();
    if (this.rollUpDue()) await this.rollUpHours();
    await this.scheduleAlarm();
  }

  private rollUpDue(): boolean {
    return this.rollAt !== undefined && this.rollAt <= Date.now();
  }

  /** The object's counters. */
  stats(): AggregatorStats {
    const counters = Object.fromEntries(COUNTERS.map((c) => [c, Number(this.meta(c) ?? 0)])) as Record<Counter, number>;
    const quarantined = Object.fromEntries(
      this.sql
        .exec<{ key: string; value: string }>("select key, value from meta where key like 'quarantine:%'")
        .toArray()
        .map((r) => [r.key.slice("quarantine:".length), Number(r.value)]),
    );
    const peakPendingBytes = Math.max(this.peakBytes, Number(this.meta("peakPendingBytes") ?? 0));
    return { object: this.object?.name ?? "", ...counters, pending: this.pendingReports, quarantined, peakPendingBytes, idsKept: this.seen.count() };
  }

  /** Flushes, forgets expired report ids, and comes back while anything is pending. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    try {
      await this.flush();
    } catch (err) {
      console.error("aggregator flush failed; retrying from the log", err);
      await this.setAlarm(Date.now() + RETRY_MS);
      return;
    }
    this.seen.prune(Date.now());
    this.budget.prune(Date.now());
    this.labelBudget.prune(Date.now());
    await this.scheduleAlarm();
  }

  /** A report's aggregate if it fits its version, else why not (no storage written). */
  private examine(report: Report, now: number): { aggregate: Aggregate } | { refusal: Refusal } {
    const schema = this.schemas.get(report.version)?.schema;
    if (!schema) return { refusal: { code: "not_found", message: `model "${report.model}" has no version ${report.version}` } };
    if (report.start > now + MAX_FUTURE_MS || report.end > now + MAX_FUTURE_MS) return { refusal: { code: "validation", message: "start or end: more than a day in the future" } };
    // so a client writes only windows honest traffic writes: never day rows of other years (kept
    // for ever), nor a window whose sender budgets are forgotten
    if (report.start < now - MAX_REPORT_AGE_MS) return { refusal: { code: "validation", message: `start: more than ${MAX_REPORT_AGE_MS / 86_400_000} days back` } };
    let aggregate: Aggregate;
    try {
      aggregate = Aggregate.decode(report);
    } catch (err) {
      if (isDriftlineError(err)) return { refusal: { code: err.code, message: err.message } };
      throw err;
    }
    const shadow = report.shadow ? (this.schemas.get(report.shadow.version)?.schema ?? undefined) : undefined;
    const refusal = checkReport(aggregate, report.rows, schema, shadow);
    return refusal ? { refusal } : { aggregate };
  }

  /**
   * Logs an examined report (seen + pending + its sender's spending, one transaction) and
   * merges it into memory. Past its sender's budget for the window, it is logged with the
   * factor its weight is scaled by; past the same budget of labels, with the factor its labels are.
   * A part of a split report weighs as its group does (./report-parts.ts): the first part its
   * report's `weight` scaled, a later part nothing, at the first part's factor — but never less
   * than its sketches hold once scaled: each count is rounded on its own (./scale-sketch.ts), so
   * at a factor of 1/2 a sketch of counts of 1 keeps its whole weight, and a later part adds
   * what its heaviest sketch holds past what its group weighed so far. Weights are whole, as the
   * stored tally keeps them.
   *
   * @param part - how it weighs as a part of a split report; none for a whole report
   * @returns the factor its weight was scaled by, and what it weighed in its sender's budget and tally
   */
  private log({ report, aggregate: examined, segment }: ToLog, now: number, part?: PartWeight): { factor: number; weighed: number } {
    const key: RowKey = { ...filingWindow(report.start, report.end), version: report.version, role: report.role, segment };
    const { sender } = report;
    const factor = sender === undefined ? 1 : part?.later ? part.factor : this.budget.factor(key, sender, part?.heaviest ?? examined.mass());
    const labelFactor = sender === undefined ? 1 : this.labelBudget.factor(key, sender, examined.labelCount());
    // scaled and tallied in place, as Aggregate.fromReport reads the logged report back
    const aggregate = examined.scale(factor, labelFactor);
    const held = aggregate.mass();
    const weighs = !part ? undefined : part.later ? Math.max(0, held - part.weighed) : Math.max(Math.ceil(part.heaviest * factor), held);
    if (sender !== undefined) aggregate.attribute(sender, weighs);
    const logged: AttributedReport = {
      ...report,
      ...(factor < 1 && { scale: factor }),
      ...(labelFactor < 1 && { labelScale: labelFactor }),
      ...(weighs !== undefined && { weight: weighs }),
    };
    const seq = this.seq + 1;
    const json = JSON.stringify(logged);
    // all or nothing: a report seen but not logged would be lost to its retry
    this.ctx.storage.transactionSync(() => {
      if (sender !== undefined) {
        this.budget.spend(key, sender, weighs ?? held);
        this.labelBudget.spend(key, sender, aggregate.labelCount());
      }
      // a carrier's id is kept longer: the runtime may send it again weeks later (stale-carrier.ts)
      const evicted = this.seen.add(report.id, isCarrier(report) ? now + CARRIER_DEDUPE_MS - DEDUPE_MS : now);
      if (evicted) this.count("idsEvicted", evicted);
      this.setMeta("seq", String(seq));
      this.sql.exec(
        "insert into pending (seq, version, role, granularity, minute, segment, report) values (?, ?, ?, ?, ?, ?, ?)",
        seq,
        key.version,
        key.role,
        key.granularity,
        key.windowStart,
        segment,
        json,
      );
    });
    this.seq = seq;
    this.pendingReports++;
    this.remember(key, json, aggregate, seq);
    return { factor, weighed: weighs ?? held };
  }

  /** Merges a logged report into the in-memory chunk, if there is one to keep current. */
  private remember(key: RowKey, json: string, aggregate: Aggregate, seq: number): void {
    if (!this.memory) return;
    try {
      this.memory.add(key, json, aggregate, seq);
    } catch (err) {
      // a merge failed half-way: the chunk no longer mirrors the log, which stays the truth
      console.error("pending merge failed; draining the log instead", err);
      this.memory = undefined;
    }
    this.notePeak();
  }

  private notePeak(extra = 0): void {
    const holding = (this.memory?.bytes ?? 0) + (this.writing?.bytes ?? 0) + extra;
    if (holding > this.peakBytes) this.peakBytes = holding;
  }

  /** Writes the in-memory chunk, or drains the log when there is none to trust. */
  private async flushOnce(): Promise<void> {
    const chunk = this.memory;
    if (!chunk) return this.drainLog();
    if (chunk.empty) return;
    this.memory = new PendingChunk();
    // the chunk mirrors exactly the entries not yet in any chunk, up to its last one
    this.sql.exec("update pending set chunk = ? where seq <= ? and chunk is null", chunk.id, chunk.id);
    try {
      await this.writeChunk(chunk);
    } catch (err) {
      // whatever D1 did, the log still holds the chunk: the next flush drains it from there
      this.memory = undefined;
      throw err;
    }
  }

  /**
   * Flushes the whole log in chunks of at most the chunk limits, oldest filing windows first,
   * then trusts memory again. First it settles the chunk a failed or interrupted flush left
   * marked: D1's flush record names the last chunk stored, so its entries go; any other mark is
   * undone. A logged report that cannot be read any more is quarantined, not retried for ever.
   */
  private async drainLog(): Promise<void> {
    const stored = await lastStoredChunk(openDb(this.env), this.object!.name);
    this.forget(stored);
    this.sql.exec("update pending set chunk = null where chunk is not null");
    const limits = chunkLimits(this.env);
    let chunk = new PendingChunk();
    for (;;) {
      const page = this.sql.exec<LoggedReport>("select * from pending where chunk is null order by minute, seq limit ?", LOG_PAGE).toArray();
      if (page.length === 0) {
        if (chunk.empty) break;
        await this.writeDraft(chunk);
        chunk = new PendingChunk();
        continue;
      }
      for (const row of page) {
        if (!this.revive(row)) continue;
        chunk.add(loggedKey(row), row.report, undefined, row.seq);
        this.sql.exec("update pending set chunk = ? where seq = ?", DRAFT_CHUNK, row.seq);
        this.notePeak(chunk.bytes);
        if (chunk.full(limits)) break;
      }
      if (chunk.full(limits)) {
        await this.writeDraft(chunk);
        chunk = new PendingChunk();
      }
    }
    // no await since the last read of the log: memory mirrors it (empty) from here on
    this.memory = new PendingChunk();
  }

  /** Gives the entries of a chunk built by {@link drainLog} the chunk's id, then writes it. */
  private async writeDraft(chunk: PendingChunk): Promise<void> {
    this.sql.exec("update pending set chunk = ? where chunk = ?", chunk.id, DRAFT_CHUNK);
    await this.writeChunk(chunk);
  }

  /** The aggregate of a logged report, or undefined when it can no longer be read (then it is quarantined). */
  private revive(row: LoggedReport): Aggregate | undefined {
    try {
      return Aggregate.fromReport(JSON.parse(row.report) as Report);
    } catch (err) {
      console.error(`aggregator ${this.object?.name}: logged report ${row.seq} unreadable; quarantined`, err);
      this.sql.exec("insert or replace into quarantine (seq, reason, report, at) values (?, ?, ?, ?)", row.seq, reasonOf(err), row.report, Date.now());
      this.sql.exec("delete from pending where seq = ?", row.seq);
      this.pendingReports--;
      this.countQuarantine(`report ${reasonOf(err)}`, 1);
      return undefined;
    }
  }

  /**
   * Stores one chunk: every row it touches is read, merged and written back with the chunk's
   * log position in one D1 batch. A stored row that cannot be read or merged is set aside in
   * the `quarantine` table (same batch) and the window goes on from this chunk.
   */
  private async writeChunk(chunk: PendingChunk): Promise<void> {
    const { name, model, shard } = this.object!;
    const db = openDb(this.env);
    this.writing = chunk;
    const began = Date.now();
    try {
      const now = Date.now();
      const targets = planRollUp(chunk.deltas.values(), this.combinations);
      const stored = await readOwnRows(
        db,
        model,
        shard,
        targets.map((t) => t.key),
      );
      // an hour row already rolled into its day (or due to be, and new) takes the day along:
      // late reports reach the day row at once; other hours join it when they roll up
      const rolled = (t: RollUpTarget) => t.key.granularity !== "hour" || (stored.get(rowId(t.key))?.rolled ?? hourRollsBy(t.key.windowStart, now));
      const days = dayTargets(
        targets.filter((t) => t.key.granularity === "hour" && rolled(t)),
        this.combinations,
      );
      const storedDays = await readOwnRows(
        db,
        model,
        shard,
        days.map((t) => t.key),
      );
      const rows: PackedRow[] = [];
      const quarantined: QuarantinedRow[] = [];
      for (const target of joinTargets(targets, days)) {
        const { key, sources } = target;
        const aggregate = await mergeStored(key, (stored.get(rowId(key)) ?? storedDays.get(rowId(key)))?.data, sources, quarantined);
        rows.push({ key, reports: aggregate.reports, rows: aggregate.rows, errors: aggregate.errorTotal, data: await packAggregate(aggregate), rolled: rolled(target) });
      }
      if (rows.some((r) => !r.rolled)) this.noteUnrolled(Math.min(...rows.filter((r) => !r.rolled).map((r) => r.key.windowStart)));
      const owed = Number(this.meta("rowsWrittenOwed") ?? 0);
      // each report is in exactly one of the chunk's filing-window keys
      const totals = totalsOf([...chunk.deltas.values()].map(({ key, source }) => ({ key, aggregate: sourceAggregate(source) })));
      const written = await writeFlush(db, { object: name, model, shard, rows, quarantined, chunk: chunk.id, reports: chunk.reports, rowsWrittenOwed: owed, totals, now: Date.now() });
      this.setMeta("rowsWrittenOwed", String(written));
      this.forget(chunk.id);
      this.count("flushes", 1);
      this.count("upserts", rows.length);
      this.count("rowsWritten", written);
      this.count(
        "bytesWritten",
        rows.reduce((n, r) => n + r.data.length, 0),
      );
      this.count("flushMs", Date.now() - began);
      for (const q of quarantined) {
        console.error(`aggregator ${name}: stored row ${rowId(q.key)} unreadable (${q.reason}); quarantined`);
        this.countQuarantine(`aggregate ${q.reason}`, 1);
      }
    } finally {
      this.writing = undefined;
      this.setMeta("peakPendingBytes", String(Math.max(this.peakBytes, Number(this.meta("peakPendingBytes") ?? 0))));
    }
  }

  /** Drops the log entries of a stored chunk. */
  private forget(chunk: number): void {
    this.sql.exec("delete from pending where chunk = ?", chunk);
    this.pendingReports = this.sql.exec<{ n: number }>("select count(*) as n from pending").one().n;
  }

  /** Picks up after a restart: the log is drained by the next flush, never rebuilt in memory at once. */
  private async start(): Promise<void> {
    const name = this.meta("object");
    if (!name) return;
    const [model, shard] = [this.meta("model")!, Number(this.meta("shard"))];
    this.object = { name, model, shard };
    this.cap = new SegmentCap(this.env.DB, model, segmentLimits(this.env));
    const logged = this.sql.exec<{ n: number; last: number | null }>("select count(*) as n, max(seq) as last from pending").one();
    this.seq = Math.max(Number(this.meta("seq") ?? 0), logged.last ?? 0);
    this.pendingReports = logged.n;
    if (logged.n > 0) this.memory = undefined;
    const rollAt = this.meta("rollAt");
    this.rollAt = rollAt === undefined ? undefined : Number(rollAt);
    this.alarmAt = await this.ctx.storage.getAlarm();
    if (logged.n > 0 && this.alarmAt === null) await this.setAlarm(Date.now());
    else if (this.alarmAt === null) await this.scheduleAlarm();
  }

  private identify(model: string, shard: number): void {
    if (this.object) return;
    const name = `${model}:${shard}`;
    this.object = { name, model, shard };
    this.cap = new SegmentCap(this.env.DB, model, segmentLimits(this.env));
    this.setMeta("object", name);
    this.setMeta("model", model);
    this.setMeta("shard", String(shard));
  }

  private async schemaOf(version: number): Promise<void> {
    const known = this.schemas.get(version);
    if (known && (known.schema || Date.now() - known.at < MISSING_VERSION_RETRY_MS)) return;
    const row = await findVersion(openDb(this.env), this.object!.model, version);
    const schema = row ? versionSchema(JSON.parse(row.manifest) as Parameters<typeof versionSchema>[0], version) : null;
    this.schemas.set(version, { schema, at: Date.now() });
  }

  /** Sets the alarm for the next flush or roll-up, whichever is due first (if any). */
  private async scheduleAlarm(): Promise<void> {
    let due = this.rollAt ?? Infinity;
    if (this.pendingReports > 0) {
      const now = this.pendingReports >= flushMaxReports(this.env) || !this.memory || this.memory.full(chunkLimits(this.env));
      due = Math.min(due, now ? Date.now() : Date.now() + flushIntervalMs(this.env));
    }
    if (due === Infinity || (this.alarmAt !== null && this.alarmAt <= due)) return;
    await this.setAlarm(due);
  }

  /** Notes that an hour row starting at `hourStart` was written unrolled: it rolls up in time. */
  private noteUnrolled(hourStart: number): void {
    const at = hourStart + HOUR_ROLLS_AFTER_MS;
    if (this.rollAt !== undefined && this.rollAt <= at) return;
    this.rollAt = at;
    this.setMeta("rollAt", String(at));
  }

  /**
   * Rolls every hour row that is due into its day row, a page of hours at a time (bounded
   * memory): each page's day rows are read, merged and written with the hours marked rolled in
   * one D1 batch. An hour row that cannot be read any more is marked rolled without being
   * added (counted in the quarantine stats); a day row that cannot be read is set aside.
   */
  private async rollUpHours(): Promise<void> {
    const { name, model, shard } = this.object!;
    const db = openDb(this.env);
    const before = Date.now() - HOUR_ROLLS_AFTER_MS + 1;
    for (;;) {
      const hours = await unrolledHours(db, model, shard, before, ROLL_UP_PAGE);
      if (hours.length === 0) break;
      const readable = await Promise.all(
        hours.map(async (h) => {
          const aggregate = await unpackAggregate(h.data).catch(() => undefined);
          if (!aggregate) {
            console.error(`aggregator ${name}: hour row ${rowId(h.key)} unreadable; not rolled into its day`);
            this.countQuarantine("aggregate unrolled", 1);
          }
          return { key: h.key, sources: aggregate ? [aggregate] : [] };
        }),
      );
      const days = dayTargets(readable, this.combinations);
      const stored = await readOwnRows(
        db,
        model,
        shard,
        days.map((d) => d.key),
      );
      const rows: PackedRow[] = [];
      const quarantined: QuarantinedRow[] = [];
      for (const { key, sources } of days) {
        const aggregate = await mergeStored(key, stored.get(rowId(key))?.data, sources, quarantined);
        rows.push({ key, reports: aggregate.reports, rows: aggregate.rows, errors: aggregate.errorTotal, data: await packAggregate(aggregate), rolled: true });
      }
      const written = await writeRollUp(
        db,
        model,
        shard,
        rows,
        hours.map((h) => h.key),
        quarantined,
        Date.now(),
      );
      this.count("rowsWritten", written);
      this.count(
        "bytesWritten",
        rows.reduce((n, r) => n + r.data.length, 0),
      );
      for (const q of quarantined) this.countQuarantine(`aggregate ${q.reason}`, 1);
      if (hours.length < ROLL_UP_PAGE) break;
    }
    const oldest = await oldestUnrolledHour(db, model, shard);
    this.rollAt = oldest === undefined ? undefined : oldest + HOUR_ROLLS_AFTER_MS;
    if (this.rollAt === undefined) this.sql.exec("delete from meta where key = 'rollAt'");
    else this.setMeta("rollAt", String(this.rollAt));
  }

  private async setAlarm(at: number): Promise<void> {
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("select value from meta where key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value", key, value);
  }

  private count(counter: Counter, n: number): void {
    this.addMeta(counter, n);
  }

  private countQuarantine(reason: string, n: number): void {
    this.addMeta(`quarantine:${reason}`, n);
  }

  private addMeta(key: string, n: number): void {
    this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = cast(value as integer) + ?", key, String(n), n);
  }
}

/** The filing-window key of a logged report. */
function loggedKey(row: LoggedReport): RowKey {
  return { granularity: row.granularity, windowStart: row.minute, version: row.version, role: row.role as RowKey["role"], segment: row.segment };
}

/** A short reason for a failure: the error code, else the error's name. */
function reasonOf(err: unknown): string {
  return isDriftlineError(err) ? err.code : err instanceof Error ? err.name : "unknown";
}

/**
 * A stored row with a chunk's aggregates merged in. When the stored text cannot be read, or
 * merging into it fails, it is set aside in `quarantined` and the row starts over from the
 * chunk alone.
 */
async function mergeStored(key: RowKey, before: string | undefined, sources: readonly PendingSource[], quarantined: QuarantinedRow[]): Promise<Aggregate> {
  // a report's JSON decodes into a new aggregate that can be absorbed; merged ones are shared
  // by the targets of their key and must be copied
  const into = (a: Aggregate) => sources.reduce<Aggregate>((sum, s) => (typeof s === "string" ? sum.absorb(sourceAggregate(s)) : sum.merge(s)), a);
  if (before === undefined) return into(new Aggregate());
  try {
    return into(await unpackAggregate(before));
  } catch (err) {
    quarantined.push({ key, reason: reasonOf(err), data: before });
    return into(new Aggregate());
  }
}
