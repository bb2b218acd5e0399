import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { aggregateFlushes, aggregates, quarantine } from "../db/schema.ts";
import type { Aggregate, AggregatePart } from "./aggregate.ts";
import { retentionOf } from "./retention.ts";
import { type RowKey, rowId } from "./rows.ts";
import { ALL_SEGMENT } from "./segments.ts";
import { unpackAggregate } from "./stored-aggregate.ts";
import { type Granularity, type WindowRange, cover } from "./windows.ts";

/**
 * The stored aggregates of one object (model, shard) for `keys`, by {@link rowId}.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 * @param keys - the rows wanted
 */
export async function readOwnRows(db: Db, model: string, shard: number, keys: readonly RowKey[]): Promise<Map<string, string>> {
  const wanted = new Set(keys.map(rowId));
  const windows = [...new Set(keys.map((k) => `${k.granularity}|${k.windowStart}`))];
  const found = new Map<string, string>();
  // one query per window (few per flush) instead of one per row; other rows of the window are skipped
  const queries = windows.map((w) => {
    const [granularity, start] = w.split("|") as [RowKey["granularity"], string];
    return db
      .select()
      .from(aggregates)
      .where(and(eq(aggregates.model, model), eq(aggregates.shard, shard), eq(aggregates.granularity, granularity), eq(aggregates.windowStart, Number(start))));
  });
  if (queries.length === 0) return found;
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  for (const rows of results) {
    for (const r of rows) {
      const id = rowId(r);
      if (wanted.has(id)) found.set(id, r.data);
    }
  }
  return found;
}

/** One row a flush stores: its key, counts kept beside the data, and the stored form. */
export interface PackedRow {
  key: RowKey;
  reports: number;
  rows: number;
  errors: number;
  data: string;
}

/** A stored row a flush set aside instead of merging into it. */
export interface QuarantinedRow {
  key: RowKey;
  reason: string;
  data: string;
}

/** What one flush is: the object, its rows, and the log position they include. */
export interface FlushBatch {
  /** The object's name, `model:shard`. */
  object: string;
  model: string;
  shard: number;
  rows: readonly PackedRow[];
  quarantined: readonly QuarantinedRow[];
  /** The id of the chunk of log entries these rows include. */
  chunk: number;
  /** Reports in this flush. */
  reports: number;
  /** D1 rows written by earlier flushes and not yet added to the flush record. */
  rowsWrittenOwed: number;
  now: number;
}

/**
 * Writes a flush in one D1 batch (one transaction): the merged rows, the rows set aside, and
 * the object's flush record with the chunk's id (in `seq`) and its tallies. Either all of it
 * lands or none of it. D1 counts the rows a batch wrote only once it ran, so each record adds
 * what the previous flushes wrote (`rowsWrittenOwed`): the tally lags one flush and is never
 * counted twice.
 *
 * @param db - drizzle handle
 * @param batch - what to write
 * @returns the D1 rows this batch wrote
 */
export async function writeFlush(db: Db, batch: FlushBatch): Promise<number> {
  const { object, model, shard, chunk: seq, reports, now } = batch;
  const upserts = batch.rows.map(({ key, ...counts }) => {
    const values = { model, shard, ...key, ...counts, updatedAt: now };
    return db
      .insert(aggregates)
      .values(values)
      .onConflictDoUpdate({
        target: [aggregates.model, aggregates.granularity, aggregates.windowStart, aggregates.version, aggregates.role, aggregates.segment, aggregates.shard],
        set: { reports: values.reports, rows: values.rows, errors: values.errors, data: values.data, updatedAt: now },
      });
  });
  const asides = batch.quarantined.map((q) => db.insert(quarantine).values({ model, object, key: rowId(q.key), reason: q.reason, data: q.data, at: now }));
  const record = db
    .insert(aggregateFlushes)
    .values({ object, model, seq, flushes: 1, reports, rowsWritten: batch.rowsWrittenOwed, updatedAt: now })
    .onConflictDoUpdate({
      target: aggregateFlushes.object,
      set: {
        seq,
        flushes: sql`${aggregateFlushes.flushes} + 1`,
        reports: sql`${aggregateFlushes.reports} + ${reports}`,
        rowsWritten: sql`${aggregateFlushes.rowsWritten} + ${batch.rowsWrittenOwed}`,
        updatedAt: now,
      },
    });
  const results = await db.batch([record, ...asides, ...upserts]);
  return results.reduce((n, r) => n + ((r as { meta?: { rows_written?: number } }).meta?.rows_written ?? 0), 0);
}

/**
 * The id of the last chunk an object stored, 0 when it never did.
 *
 * @param db - drizzle handle
 * @param object - the object's name
 */
export async function lastStoredChunk(db: Db, object: string): Promise<number> {
  const row = await db.select({ seq: aggregateFlushes.seq }).from(aggregateFlushes).where(eq(aggregateFlushes.object, object)).get();
  return row?.seq ?? 0;
}

/** Ingest totals of a model over all its objects, from their flush records. */
export interface IngestTotals {
  objects: number;
  flushes: number;
  reports: number;
  rowsWritten: number;
}

/**
 * Flush totals of a model (reports flushed, D1 rows written).
 *
 * @param db - drizzle handle
 * @param model - the model
 */
export async function ingestTotals(db: Db, model: string): Promise<IngestTotals> {
  const rows = await db.select().from(aggregateFlushes).where(eq(aggregateFlushes.model, model)).all();
  return rows.reduce(
    (t, r) => ({ objects: t.objects + 1, flushes: t.flushes + r.flushes, reports: t.reports + r.reports, rowsWritten: t.rowsWritten + r.rowsWritten }),
    { objects: 0, flushes: 0, reports: 0, rowsWritten: 0 },
  );
}

/** Which aggregates to read. */
export interface AggregateQuery {
  model: string;
  /** Versions to read; undefined for every version. */
  versions?: readonly number[] | undefined;
  role: RowKey["role"];
  /** Canonical segment: "" for all. */
  segment: string;
  ranges: readonly WindowRange[];
}

/** Rows of a query with their version and the counts kept beside the data. */
export interface StoredRow {
  version: number;
  reports: number;
  rows: number;
  errors: number;
  data: string;
}

/**
 * The stored rows covering `q` over every shard. A segment of one pair or none reads its own
 * rows; a segment of several pairs reads the full-combination rows that contain all of them
 * (each report is in exactly one such row).
 *
 * @param db - drizzle handle
 * @param q - model, versions, role, segment and window ranges
 */
export async function readRows(db: Db, q: AggregateQuery): Promise<StoredRow[]> {
  if (q.ranges.length === 0 || q.versions?.length === 0) return [];
  const pairs = q.segment === ALL_SEGMENT ? [] : q.segment.split(",");
  const segment =
    pairs.length <= 1
      ? eq(aggregates.segment, q.segment)
      : and(
          sql`instr(${aggregates.segment}, ',') > 0`,
          ...pairs.map((p) => sql`(',' || ${aggregates.segment} || ',') like ${`%,${likeLiteral(p)},%`} escape '\\'`),
        );
  const windows = sql.join(
    q.ranges.map((r) => sql`(${aggregates.granularity} = ${r.granularity} and ${aggregates.windowStart} >= ${r.from} and ${aggregates.windowStart} < ${r.to})`),
    sql` or `,
  );
  return db
    .select({ version: aggregates.version, reports: aggregates.reports, rows: aggregates.rows, errors: aggregates.errors, data: aggregates.data })
    .from(aggregates)
    .where(and(eq(aggregates.model, q.model), q.versions && inArray(aggregates.version, [...q.versions]), eq(aggregates.role, q.role), segment, sql`(${windows})`))
    .all();
}

/** `text` with LIKE's wildcards escaped (the canonical form percent-encodes, so `%` occurs). */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The merged aggregates of a query, and how many stored rows could not be read. */
export interface ReadResult {
  /** Merged aggregate per version. */
  byVersion: Map<number, Aggregate>;
  /** Stored rows skipped because they could not be decoded or merged (see the quarantine). */
  skipped: number;
}

/**
 * The merged aggregate per version of the rows of `q`, decoding only `parts`. A row that
 * cannot be read or merged is skipped and counted, never thrown: one bad row must not take a
 * query (or /metrics) down with it.
 *
 * @param db - drizzle handle
 * @param q - what to read
 * @param parts - which sketches to decode
 */
export async function readAggregates(db: Db, q: AggregateQuery, parts?: readonly AggregatePart[]): Promise<ReadResult> {
  const byVersion = new Map<number, Aggregate>();
  let skipped = 0;
  const rows = await readRows(db, q);
  const decoded = await Promise.all(rows.map((row) => unpackAggregate(row.data, parts).catch(() => undefined)));
  rows.forEach((row, i) => {
    const a = decoded[i];
    if (!a) {
      skipped++;
      return;
    }
    const mine = byVersion.get(row.version);
    try {
      if (mine) mine.absorb(a);
      else byVersion.set(row.version, a);
    } catch {
      skipped++;
    }
  });
  return { byVersion, skipped };
}

/** A window read: the merged aggregates, the rounded range they cover, and what was skipped. */
export interface WindowRead extends ReadResult {
  from: number;
  to: number;
}

/**
 * Reads [from, to) of a query with the fewest stored windows that still exist ({@link cover}
 * under the retention at `now`; segment slices have no minute rows, so a segment query rounds
 * out to whole hours).
 *
 * @param env - the Worker's bindings (retention)
 * @param db - drizzle handle
 * @param q - model, versions, role, segment, range and optional window size
 * @param parts - which sketches to decode
 * @param now - epoch ms
 */
export async function readWindow(
  env: Env,
  db: Db,
  q: Omit<AggregateQuery, "ranges"> & { from: number; to: number; window?: Granularity | undefined },
  parts: readonly AggregatePart[],
  now = Date.now(),
): Promise<WindowRead> {
  const window = q.segment !== ALL_SEGMENT && q.window === "minute" ? "hour" : q.window;
  const range = cover(q.from, q.to, window, retentionOf(env, now, q.segment));
  const read = await readAggregates(db, { model: q.model, versions: q.versions, role: q.role, segment: q.segment, ranges: range.ranges }, parts);
  return { ...read, from: range.from, to: range.to };
}

/** All-time totals of one version and role, from the unsliced day rows. */
export interface Totals {
  version: number;
  role: RowKey["role"];
  reports: number;
  rows: number;
  /** Errors by code. */
  errors: Map<string, number>;
}

/**
 * All-time report, row and error totals per version and role of a model (day rows, all shards).
 *
 * @param db - drizzle handle
 * @param model - the model
 */
export async function readTotals(db: Db, model: string): Promise<Totals[]> {
  const rows = await db
    .select({ version: aggregates.version, role: aggregates.role, reports: aggregates.reports, rows: aggregates.rows, errors: aggregates.errors, data: aggregates.data })
    .from(aggregates)
    .where(and(eq(aggregates.model, model), eq(aggregates.granularity, "day"), eq(aggregates.segment, ALL_SEGMENT)))
    .all();
  const out = new Map<string, Totals>();
  for (const r of rows) {
    const id = `${r.version}|${r.role}`;
    let t = out.get(id);
    if (!t) out.set(id, (t = { version: r.version, role: r.role, reports: 0, rows: 0, errors: new Map() }));
    t.reports += r.reports;
    t.rows += r.rows;
    // only rows with errors are read for their codes; an unreadable one keeps its total only
    if (r.errors > 0) {
      const counts = (await unpackAggregate(r.data, ["errors"]).catch(() => undefined))?.errors?.counts;
      for (const [code, n] of counts ?? []) t.errors.set(code, (t.errors.get(code) ?? 0) + n);
    }
  }
  return [...out.values()];
}
