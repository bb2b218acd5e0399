import { DurableObject } from "cloudflare:workers";
import { type ErrorCode, isDriftlineError } from "../../protocol/errors.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { openDb } from "../db/client.ts";
import { findVersion } from "../db/versions.ts";
import { Aggregate } from "./aggregate.ts";
import { type VersionSchema, checkReport, versionSchema } from "./check-report.ts";
import { type RowDelta, type RowKey, rollUp, rowId } from "./rows.ts";
import { SegmentCap } from "./segment-cap.ts";
import { canonicalSegment } from "./segments.ts";
import { flushedSeq, readOwnRows, writeFlush } from "./store.ts";
import { windowStart } from "./windows.ts";

/** What became of one report of a batch. */
export type IngestOutcome =
  | { id: string; status: "accepted" | "duplicate" }
  | { id: string; status: "rejected"; code: ErrorCode; message: string };

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
  /** Reports accepted but not yet in D1. */
  pending: number;
}

/** Report ids are remembered this long for deduplication. @defaultValue 7 days */
const DEDUPE_MS = 7 * 86_400_000;
/** A report may start at most this far in the future (clock skew). */
const MAX_FUTURE_MS = 86_400_000;
/** A version that does not exist is looked up again after this long. */
const MISSING_VERSION_RETRY_MS = 10_000;
/** A failed flush is retried after this long. */
const RETRY_MS = 30_000;

const COUNTERS = ["accepted", "duplicates", "rejected", "flushes", "upserts", "rowsWritten"] as const;
type Counter = (typeof COUNTERS)[number];

/**
 * The aggregator of one model shard (`model:shard`): it deduplicates reports by id, checks
 * them against their version's manifest, merges them in memory into minute aggregates, logs
 * each accepted report in its own SQLite storage before answering (so an acknowledged report
 * survives eviction), and flushes the merged aggregates to D1 from an alarm — minute, hour and
 * day rows in one batch together with the sequence number they include, so a flush is applied
 * exactly once. It is the only writer of its D1 rows, so read-modify-write needs no locking.
 */
export class ModelAggregator extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private pending = new Map<string, RowDelta>();
  private pendingReports = 0;
  private seq = 0;
  private object: { name: string; model: string; shard: number } | undefined;
  private readonly schemas = new Map<number, { schema: VersionSchema | null; at: number }>();
  private cap: SegmentCap | undefined;
  private flushing: Promise<void> | undefined;
  private alarmAt: number | null = null;

  /**
   * @param ctx - the object's state
   * @param env - the Worker's bindings
   */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`create table if not exists meta (key text primary key, value text not null);
      create table if not exists seen (id text primary key, at integer not null);
      create index if not exists seen_at on seen (at);
      create table if not exists pending (seq integer primary key, version integer not null, role text not null,
        minute integer not null, segment text not null, report text not null);`);
    void ctx.blockConcurrencyWhile(() => this.recover());
  }

  /**
   * Deduplicates, checks and merges a batch of one model's reports routed to this shard.
   * Every outcome is durable when this resolves.
   *
   * @param model - the model (all reports are of it)
   * @param shard - this object's shard
   * @param reports - reports that passed the wire schema
   */
  async ingest(model: string, shard: number, reports: Report[]): Promise<IngestOutcome[]> {
    this.identify(model, shard);
    const versions = new Set(reports.flatMap((r) => (r.shadow ? [r.version, r.shadow.version] : [r.version])));
    await Promise.all([...versions].map((v) => this.schemaOf(v)));
    const capped = await Promise.all(reports.map((r) => this.cap!.admit(r.segment)));
    const capWrites = capped.reduce((n, c) => n + c.rowsWritten, 0);
    if (capWrites) this.count("rowsWritten", capWrites);
    // From here on nothing awaits: the seen-check and the log insert of a report are atomic.
    const now = Date.now();
    const inBatch = new Set<string>();
    const tally = { accepted: 0, duplicates: 0, rejected: 0 };
    const outcomes = reports.map((report, i): IngestOutcome => {
      if (inBatch.has(report.id) || this.sql.exec("select 1 from seen where id = ?", report.id).toArray().length > 0) {
        tally.duplicates++;
        return { id: report.id, status: "duplicate" };
      }
      const refusal = this.accept(report, canonicalSegment(capped[i]!.segment), now);
      if (refusal) {
        tally.rejected++;
        return { id: report.id, status: "rejected", ...refusal };
      }
      inBatch.add(report.id);
      tally.accepted++;
      return { id: report.id, status: "accepted" };
    });
    for (const [counter, n] of Object.entries(tally)) if (n > 0) this.count(counter as Counter, n);
    await this.scheduleFlush();
    return outcomes;
  }

  /** Flushes what is pending to D1 now (also used by the admin flush route and tests). */
  async flush(): Promise<void> {
    // one flush at a time: each flush reads the rows the previous one wrote
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.pending.size === 0) return;
    this.flushing = this.flushPending().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** The object's counters. */
  stats(): AggregatorStats {
    const counters = Object.fromEntries(COUNTERS.map((c) => [c, Number(this.meta(c) ?? 0)])) as Record<Counter, number>;
    return { object: this.object?.name ?? "", ...counters, pending: this.pendingReports };
  }

  /** Flushes, forgets expired report ids, and comes back while anything is pending. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    try {
      await this.flush();
    } catch (err) {
      console.error("aggregator flush failed; retrying", err);
      await this.setAlarm(Date.now() + RETRY_MS);
      return;
    }
    this.sql.exec("delete from seen where at < ?", Date.now() - DEDUPE_MS);
    if (this.pending.size > 0) await this.scheduleFlush();
  }

  private accept(report: Report, segment: string, now: number): { code: ErrorCode; message: string } | undefined {
    const schema = this.schemas.get(report.version)?.schema;
    if (!schema) return { code: "not_found", message: `model "${report.model}" has no version ${report.version}` };
    if (report.start > now + MAX_FUTURE_MS) return { code: "validation", message: "start: more than a day in the future" };
    let aggregate: Aggregate;
    try {
      aggregate = Aggregate.fromReport(report);
    } catch (err) {
      if (isDriftlineError(err)) return { code: err.code, message: err.message };
      throw err;
    }
    const shadow = report.shadow ? (this.schemas.get(report.shadow.version)?.schema ?? undefined) : undefined;
    const refusal = checkReport(aggregate, schema, shadow);
    if (refusal) return refusal;
    const key: RowKey = { granularity: "minute", windowStart: windowStart(report.start, "minute"), version: report.version, role: report.role, segment };
    const seq = ++this.seq;
    this.sql.exec("insert into seen (id, at) values (?, ?)", report.id, now);
    this.sql.exec("insert into pending (seq, version, role, minute, segment, report) values (?, ?, ?, ?, ?, ?)", seq, key.version, key.role, key.windowStart, segment, JSON.stringify(report));
    this.addPending(key, aggregate);
    return undefined;
  }

  private addPending(key: RowKey, aggregate: Aggregate): void {
    const id = rowId(key);
    const mine = this.pending.get(id);
    if (mine) mine.aggregate.absorb(aggregate);
    else this.pending.set(id, { key, aggregate });
    this.pendingReports += aggregate.reports;
  }

  private async flushPending(): Promise<void> {
    const { name, model, shard } = this.object!;
    const batch = this.pending;
    const reports = this.pendingReports;
    const upto = this.seq;
    this.pending = new Map();
    this.pendingReports = 0;
    try {
      const db = openDb(this.env);
      if ((await flushedSeq(db, name)) >= upto) {
        // another instance of this object already stored these reports (only ever a stale twin)
        this.sql.exec("delete from pending where seq <= ?", upto);
        return;
      }
      const targets = [...rollUp(batch.values(), () => new Aggregate()).values()];
      const stored = await readOwnRows(db, model, shard, targets.map((t) => t.key));
      const merged = targets.map(({ key, aggregate }) => {
        const before = stored.get(rowId(key));
        return { key, aggregate: before === undefined ? aggregate : Aggregate.decode(before).absorb(aggregate) };
      });
      const written = await writeFlush(db, name, model, shard, merged, upto, reports, Date.now());
      this.sql.exec("delete from pending where seq <= ?", upto);
      this.count("flushes", 1);
      this.count("upserts", written.upserts);
      this.count("rowsWritten", written.rowsWritten);
    } catch (err) {
      // nothing of this batch is in D1 (one transaction): put it back for the next try
      for (const delta of batch.values()) this.addPending(delta.key, delta.aggregate);
      throw err;
    }
  }

  /** Rebuilds the pending aggregates from the log, dropping what a flush already stored. */
  private async recover(): Promise<void> {
    const name = this.meta("object");
    if (!name) return;
    const [model, shard] = [this.meta("model")!, Number(this.meta("shard"))];
    this.object = { name, model, shard };
    this.cap = new SegmentCap(this.env.DB, model, segmentLimits(this.env));
    const flushed = await flushedSeq(openDb(this.env), name);
    this.sql.exec("delete from pending where seq <= ?", flushed);
    this.seq = flushed;
    for (const row of this.sql.exec<{ seq: number; version: number; role: string; minute: number; segment: string; report: string }>("select * from pending order by seq")) {
      const key: RowKey = { granularity: "minute", windowStart: row.minute, version: row.version, role: row.role as RowKey["role"], segment: row.segment };
      this.addPending(key, Aggregate.fromReport(JSON.parse(row.report) as Report));
      this.seq = row.seq;
    }
    this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.pending.size > 0 && this.alarmAt === null) await this.setAlarm(Date.now());
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

  private async scheduleFlush(): Promise<void> {
    const due = this.pendingReports >= flushMaxReports(this.env) ? Date.now() : Date.now() + flushIntervalMs(this.env);
    if (this.alarmAt !== null && this.alarmAt <= due) return;
    await this.setAlarm(due);
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
    this.sql.exec("insert into meta (key, value) values (?, ?) on conflict (key) do update set value = cast(value as integer) + ?", counter, String(n), n);
  }
}

function intVar(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Milliseconds between flushes (`FLUSH_INTERVAL_MS`). @defaultValue 10000 */
export const flushIntervalMs = (env: Env) => intVar(env.FLUSH_INTERVAL_MS, 10_000);
/** Pending reports that trigger a flush at once (`FLUSH_MAX_REPORTS`). @defaultValue 20000 */
export const flushMaxReports = (env: Env) => intVar(env.FLUSH_MAX_REPORTS, 20_000);
/** Cardinality cap (`SEGMENT_MAX_VALUES`, `SEGMENT_MAX_KEYS`). */
const segmentLimits = (env: Env) => ({ values: intVar(env.SEGMENT_MAX_VALUES, 50), keys: intVar(env.SEGMENT_MAX_KEYS, 16) });

/** A minute counts as closed this long after the flush interval has passed too. */
const CLOSE_GRACE_MS = 15_000;

/**
 * End of the closed minutes at `now`: minutes before it have ended and been flushed (one
 * flush interval plus a grace period ago), so judging them sees all their reports.
 *
 * @param env - the Worker's bindings
 * @param now - epoch ms
 */
export function closedUntil(env: Env, now: number): number {
  const t = now - flushIntervalMs(env) - CLOSE_GRACE_MS;
  return t - (((t % 60_000) + 60_000) % 60_000);
}
