import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { aggregateFlushes, aggregates } from "../db/schema.ts";
import { Aggregate, type AggregatePart } from "./aggregate.ts";
import { type RowDelta, type RowKey, rowId } from "./rows.ts";
import { ALL_SEGMENT } from "./segments.ts";
import type { WindowRange } from "./windows.ts";

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

/** What one flush wrote. */
export interface FlushWrite {
  /** Aggregate rows inserted or updated. */
  upserts: number;
  /** D1's own count of rows written (table and index rows), from the statements' meta. */
  rowsWritten: number;
}

/**
 * Writes merged rows and the object's flush record in one D1 batch (one transaction): either
 * all of it lands, with the new sequence number, or none of it.
 *
 * @param db - drizzle handle
 * @param object - the object's name, `model:shard`
 * @param model - the model
 * @param shard - the object's shard
 * @param rows - the merged aggregates to store
 * @param seq - the last report sequence number these rows include
 * @param reports - reports in this flush
 * @param now - epoch ms
 */
export async function writeFlush(db: Db, object: string, model: string, shard: number, rows: readonly RowDelta[], seq: number, reports: number, now: number): Promise<FlushWrite> {
  const upserts = rows.map(({ key, aggregate }) => {
    const values = { model, shard, ...key, reports: aggregate.reports, rows: aggregate.rows, errors: aggregate.errorTotal, data: aggregate.encode(), updatedAt: now };
    return db
      .insert(aggregates)
      .values(values)
      .onConflictDoUpdate({
        target: [aggregates.model, aggregates.granularity, aggregates.windowStart, aggregates.version, aggregates.role, aggregates.segment, aggregates.shard],
        set: { reports: values.reports, rows: values.rows, errors: values.errors, data: values.data, updatedAt: now },
      });
  });
  const record = db
    .insert(aggregateFlushes)
    .values({ object, model, seq, flushes: 1, reports, rowsWritten: 0, updatedAt: now })
    .onConflictDoUpdate({
      target: aggregateFlushes.object,
      set: {
        seq,
        flushes: sql`${aggregateFlushes.flushes} + 1`,
        reports: sql`${aggregateFlushes.reports} + ${reports}`,
        updatedAt: now,
      },
    });
  const results = await db.batch([record, ...upserts]);
  const rowsWritten = results.reduce((n, r) => n + ((r as { meta?: { rows_written?: number } }).meta?.rows_written ?? 0), 0);
  // the physical row count is known only now; adding it is one more row write, counted too
  const tally = await db
    .update(aggregateFlushes)
    .set({ rowsWritten: sql`${aggregateFlushes.rowsWritten} + ${rowsWritten + 1}` })
    .where(eq(aggregateFlushes.object, object));
  return { upserts: upserts.length, rowsWritten: rowsWritten + ((tally as { meta?: { rows_written?: number } }).meta?.rows_written ?? 1) };
}

/**
 * The last report sequence number an object flushed, 0 when it never did.
 *
 * @param db - drizzle handle
 * @param object - the object's name
 */
export async function flushedSeq(db: Db, object: string): Promise<number> {
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

/**
 * The merged aggregate per version of the rows of `q`, decoding only `parts`.
 *
 * @param db - drizzle handle
 * @param q - what to read
 * @param parts - which sketches to decode
 */
export async function readAggregates(db: Db, q: AggregateQuery, parts?: readonly AggregatePart[]): Promise<Map<number, Aggregate>> {
  const out = new Map<number, Aggregate>();
  for (const row of await readRows(db, q)) {
    const a = Aggregate.decode(row.data, parts);
    const mine = out.get(row.version);
    if (mine) mine.absorb(a);
    else out.set(row.version, a);
  }
  return out;
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
    // only rows with errors are parsed for their codes
    if (r.errors > 0) for (const [code, n] of Aggregate.decode(r.data, ["errors"]).errors?.counts ?? []) t.errors.set(code, (t.errors.get(code) ?? 0) + n);
  }
  return [...out.values()];
}
