import { type SQL, and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client.ts";
import { aggregateFlushes, aggregates, quarantine } from "../db/schema.ts";
import type { Aggregate, AggregatePart } from "./aggregate.ts";
import { retentionOf } from "./retention.ts";
import { type Totals, addToTotals, addTotals } from "./totals.ts";
import { type RowKey, rowId } from "./rows.ts";
import { ALL_SEGMENT, OTHER_COMBINATION } from "./segments.ts";
import { unpackAggregate } from "./stored-aggregate.ts";
import { type Granularity, type WindowRange, cover, windowStart } from "./windows.ts";

/** A stored row as its writer reads it back. */
export interface OwnRow {
  data: string;
  /** For an hour row: whether its contents are in its day row. */
  rolled: boolean;
}

/**
 * The stored aggregates of one object (model, shard) for `keys`, by {@link rowId}.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 * @param keys - the rows wanted
 */
export async function readOwnRows(db: Db, model: string, shard: number, keys: readonly RowKey[]): Promise<Map<string, OwnRow>> {
  const byWindow = new Map<string, { key: RowKey; rows: string[] }>();
  for (const k of keys) {
    const window = `${k.granularity}|${k.windowStart}`;
    let wanted = byWindow.get(window);
    if (!wanted) byWindow.set(window, (wanted = { key: k, rows: [] }));
    wanted.rows.push(rowInWindow(k));
  }
  const found = new Map<string, OwnRow>();
  // one query per window (few per flush) instead of one per row, answering only the rows wanted:
  // a window may hold many other slices (a flood of segments), which the flush must not hold
  const queries = [...byWindow.values()].map(({ key, rows }) =>
    db
      .select()
      .from(aggregates)
      .where(
        and(
          eq(aggregates.model, model),
          eq(aggregates.shard, shard),
          eq(aggregates.granularity, key.granularity),
          eq(aggregates.windowStart, key.windowStart),
          sql`${aggregates.version} || '|' || ${aggregates.role} || '|' || ${aggregates.segment} in (select value from json_each(${JSON.stringify(rows)}))`,
        ),
      ),
  );
  if (queries.length === 0) return found;
  const results = await db.batch(queries as [(typeof queries)[number], ...(typeof queries)[number][]]);
  for (const rows of results) for (const r of rows) found.set(rowId(r), { data: r.data, rolled: r.rolled === 1 });
  return found;
}

/** A row's key within its window, as {@link readOwnRows} matches it in SQL. */
const rowInWindow = (k: RowKey) => `${k.version}|${k.role}|${k.segment}`;

/** One row a flush stores: its key, counts kept beside the data, and the stored form. */
export interface PackedRow {
  key: RowKey;
  reports: number;
  rows: number;
  errors: number;
  data: string;
  /** See {@link OwnRow.rolled}; true for minute and day rows. */
  rolled: boolean;
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
  /** The chunk's reports, rows and errors, added to `report_totals`. */
  totals: readonly Totals[];
  now: number;
}

/**
 * Writes a flush in one D1 batch (one transaction): the merged rows, the rows set aside, the
 * object's flush record with the chunk's id (in `seq`) and its tallies, and the chunk's counts
 * added to `report_totals` (the caller counted the object's older rows there first). Either all of it
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
  const upserts = batch.rows.map((row) => upsertRow(db, model, shard, row, now));
  const asides = batch.quarantined.map((q) => db.insert(quarantine).values({ model, object, key: rowId(q.key), reason: q.reason, data: q.data, at: now }));
  const record = db
    .insert(aggregateFlushes)
    // a new object's reports are all in report_totals; an old one's are once it counted them (totals.ts)
    .values({ object, model, seq, flushes: 1, reports, rowsWritten: batch.rowsWrittenOwed, updatedAt: now, totals: 1 })
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
  const results = await db.batch([record, ...asides, ...upserts, ...addToTotals(db, model, batch.totals)]);
  return results.reduce((n, r) => n + ((r as { meta?: { rows_written?: number } }).meta?.rows_written ?? 0), 0);
}

const AGGREGATE_KEY = [aggregates.model, aggregates.granularity, aggregates.windowStart, aggregates.version, aggregates.role, aggregates.segment, aggregates.shard];

/**
 * An upsert of one row. `rolled` is only inserted: a stored row keeps its flag (a flush reads
 * it; only a roll-up changes it), and an update that sets no indexed column leaves the partial
 * index alone — D1 counts every index entry written as a row written.
 */
function upsertRow(db: Db, model: string, shard: number, { key, rolled, ...counts }: PackedRow, now: number) {
  const values = { model, shard, ...key, ...counts, rolled: rolled ? 1 : 0, updatedAt: now };
  return db
    .insert(aggregates)
    .values(values)
    .onConflictDoUpdate({ target: AGGREGATE_KEY, set: { reports: values.reports, rows: values.rows, errors: values.errors, data: values.data, updatedAt: now } });
}

/** An hour row not yet rolled into its day row. */
export interface UnrolledHour {
  key: RowKey;
  data: string;
}

/**
 * Up to `limit` of an object's hour rows that are not yet in their day rows and whose hour
 * started before `before`, oldest first.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 * @param before - epoch ms
 * @param limit - rows at most
 */
export async function unrolledHours(db: Db, model: string, shard: number, before: number, limit: number): Promise<UnrolledHour[]> {
  const rows = await db
    .select()
    .from(aggregates)
    // `rolled = 0` as a literal, so SQLite can use the partial index aggregates_unrolled
    .where(and(eq(aggregates.model, model), eq(aggregates.shard, shard), sql`${aggregates.rolled} = 0`, lt(aggregates.windowStart, before)))
    .orderBy(aggregates.windowStart)
    .limit(limit)
    .all();
  return rows.map((r) => ({ key: { granularity: "hour", windowStart: r.windowStart, version: r.version, role: r.role, segment: r.segment }, data: r.data }));
}

/**
 * The start of an object's oldest hour row not yet rolled into its day row, if any.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 */
export async function oldestUnrolledHour(db: Db, model: string, shard: number): Promise<number | undefined> {
  const row = await db
    .select({ start: sql<number | null>`min(${aggregates.windowStart})` })
    .from(aggregates)
    .where(and(eq(aggregates.model, model), eq(aggregates.shard, shard), sql`${aggregates.rolled} = 0`))
    .get();
  return row?.start ?? undefined;
}

/**
 * Writes one roll-up step in one D1 batch: the day rows with the hours merged in, and those
 * hour rows marked rolled. Either both land or neither, so no hour is counted twice in a day.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 * @param days - the day rows, merged
 * @param hours - the hour rows now in them
 * @param quarantined - stored day rows set aside because they could not be read
 * @param now - epoch ms
 * @returns the D1 rows written
 */
export async function writeRollUp(db: Db, model: string, shard: number, days: readonly PackedRow[], hours: readonly RowKey[], quarantined: readonly QuarantinedRow[], now: number): Promise<number> {
  const marks = hours.map((k) =>
    db
      .update(aggregates)
      .set({ rolled: 1 })
      .where(
        and(
          eq(aggregates.model, model),
          eq(aggregates.granularity, "hour"),
          eq(aggregates.windowStart, k.windowStart),
          eq(aggregates.version, k.version),
          eq(aggregates.role, k.role),
          eq(aggregates.segment, k.segment),
          eq(aggregates.shard, shard),
        ),
      ),
  );
  const asides = quarantined.map((q) => db.insert(quarantine).values({ model, object: `${model}:${shard}`, key: rowId(q.key), reason: q.reason, data: q.data, at: now }));
  const [first, ...rest] = marks;
  if (!first) return 0;
  const results = await db.batch([first, ...rest, ...days.map((row) => upsertRow(db, model, shard, row, now)), ...asides]);
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
  return rows.reduce((t, r) => ({ objects: t.objects + 1, flushes: t.flushes + r.flushes, reports: t.reports + r.reports, rowsWritten: t.rowsWritten + r.rowsWritten }), {
    objects: 0,
    flushes: 0,
    reports: 0,
    rowsWritten: 0,
  });
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

/**
 * Stored text one query answers at most: D1 answers at most 50 MB a query, and a stored row of a
 * wide model (every sketch of a window and slice) runs to hundreds of KB. A page is cut by bytes,
 * not by rows: a flood of small rows (a segment's junk values) is still one page, so a read costs
 * its D1 queries by what it holds, not by how many rows hold it.
 */
export const PAGE_BYTES = 16 * 1024 * 1024;

/** Where a page ends: a row's primary key within its model. */
interface Cursor extends RowKey {
  shard: number;
}

/** The columns of a {@link Cursor}, selected with every page's rows. */
const CURSOR = {
  granularity: aggregates.granularity,
  windowStart: aggregates.windowStart,
  version: aggregates.version,
  role: aggregates.role,
  segment: aggregates.segment,
  shard: aggregates.shard,
};

/** The order of pages: the primary key's after the model (its index serves it, and reads merge rows in it). */
const byKey = Object.values(CURSOR);

/** `(key columns) op (the cursor's values)` in {@link byKey} order. */
const compareKey = (op: ">" | "<=", c: Cursor) =>
  sql`(${sql.join(byKey, sql`, `)}) ${sql.raw(op)} (${sql.join(
    (Object.keys(CURSOR) as (keyof Cursor)[]).map((k) => sql`${c[k]}`),
    sql`, `,
  )})`;

/**
 * The last row of each page, given every row's key and stored bytes in key order: pages of at
 * most {@link PAGE_BYTES}, a row larger than that alone.
 *
 * @param rows - keys and sizes, in {@link byKey} order
 * @param most - a page's bytes
 */
export function pageEnds<R>(rows: readonly (R & { bytes: number })[], most = PAGE_BYTES): R[] {
  const ends: R[] = [];
  let bytes = 0;
  rows.forEach((row, i) => {
    bytes += row.bytes;
    const next = rows[i + 1];
    if (!next || bytes + next.bytes > most) {
      ends.push(row);
      bytes = 0;
    }
  });
  return ends;
}

/**
 * Hands every stored row `where` selects to `each`, a page at a time, in primary-key order: one
 * query lists the rows' keys and sizes, then one query a page ({@link pageEnds}) reads their
 * `columns`. No query answers more than a page, and no more than a page's stored text is held at
 * once; a read of up to a page costs two queries, however many rows hold it.
 *
 * @param db - drizzle handle
 * @param where - the rows (none when undefined)
 * @param columns - what to read of each (the key columns are added)
 * @param each - takes each page's rows
 * @param most - a page's stored bytes
 */
export async function forEachPage<R>(db: Db, where: SQL | undefined, columns: Record<keyof R, SQLiteColumn>, each: (rows: (R & Cursor)[]) => Promise<void>, most = PAGE_BYTES): Promise<void> {
  if (!where) return;
  const sizes = await db
    .select({ ...CURSOR, bytes: sql<number>`length(${aggregates.data})` })
    .from(aggregates)
    .where(where)
    .orderBy(...byKey)
    .all();
  let after: Cursor | undefined;
  for (const end of pageEnds(sizes, most)) {
    const rows = await db
      .select({ ...columns, ...CURSOR })
      .from(aggregates)
      .where(and(where, after && compareKey(">", after), compareKey("<=", end)))
      .orderBy(...byKey)
      .all();
    await each(rows as unknown as (R & Cursor)[]);
    after = end;
  }
}

/**
 * The stored rows covering `q` over every shard. No segment, or `other`, reads its own rows; one
 * pair reads its own rows (reports of that pair alone, and traffic past the combination cap)
 * and the full-combination rows that contain it; several pairs read the full-combination rows
 * that contain all of them (traffic folded past the cap is not there). Each report is in at
 * most one of the rows read. Undefined when `q` selects nothing.
 *
 * @param q - model, versions, role, segment and window ranges
 */
export function rowsOf(q: AggregateQuery): SQL | undefined {
  if (q.ranges.length === 0 || q.versions?.length === 0) return undefined;
  const pairs = q.segment === ALL_SEGMENT || q.segment === OTHER_COMBINATION ? [] : q.segment.split(",");
  const combinations = and(sql`instr(${aggregates.segment}, ',') > 0`, ...pairs.map((p) => holdsPair(`,${p},`)));
  const own = eq(aggregates.segment, q.segment);
  const segment = pairs.length === 0 ? own : pairs.length === 1 ? or(own, combinations) : combinations;
  return and(eq(aggregates.model, q.model), q.versions && inArray(aggregates.version, [...q.versions]), eq(aggregates.role, q.role), segment, inWindows(q.ranges));
}

/** Rows in the windows of `ranges`; a day is its day row and its hour rows not yet rolled into it. */
function inWindows(ranges: readonly WindowRange[]) {
  const windows = sql.join(
    ranges.map(
      (r) =>
        sql`(${r.granularity === "day" ? DAY_AND_UNROLLED : sql`${aggregates.granularity} = ${r.granularity}`} and ${aggregates.windowStart} >= ${r.from} and ${aggregates.windowStart} < ${r.to})`,
    ),
    sql` or `,
  );
  return sql`(${windows})`;
}

/** Day rows and the hour rows not yet rolled into theirs: together, whole days. */
const DAY_AND_UNROLLED = sql`(${aggregates.granularity} = 'day' or (${aggregates.granularity} = 'hour' and ${aggregates.rolled} = 0))`;

/**
 * Rows whose segment, between commas, holds `part` (`,key:value,` or `,key:`). By `instr`, not
 * LIKE: D1 refuses a LIKE pattern over 50 bytes, and a pair of a 64-character value is longer.
 */
const holdsPair = (part: string) => sql`instr(',' || ${aggregates.segment} || ',', ${part}) > 0`;

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
  const { merged, skipped } = await mergePages(db, rowsOf(q), (row) => row.version, parts);
  return { byVersion: merged, skipped };
}

/** Decodes the rows `where` selects, a page at a time, and merges them by `keyOf`; a row that cannot be decoded or merged is counted, not thrown. */
async function mergePages<K>(db: Db, where: SQL | undefined, keyOf: (row: Cursor) => K, parts: readonly AggregatePart[] | undefined): Promise<{ merged: Map<K, Aggregate>; skipped: number }> {
  const merged = new Map<K, Aggregate>();
  let skipped = 0;
  await forEachPage<{ data: string }>(db, where, { data: aggregates.data }, async (rows) => {
    skipped += await mergeRows(rows, keyOf, parts, merged);
  });
  return { merged, skipped };
}

/** Decodes `rows` and merges them by `keyOf` into `merged`; answers how many could not be decoded or merged. */
async function mergeRows<R extends { data: string }, K>(rows: readonly R[], keyOf: (row: R) => K, parts: readonly AggregatePart[] | undefined, merged: Map<K, Aggregate>): Promise<number> {
  let skipped = 0;
  const decoded = await Promise.all(rows.map((row) => unpackAggregate(row.data, parts).catch(() => undefined)));
  rows.forEach((row, i) => {
    const a = decoded[i];
    if (!a) {
      skipped++;
      return;
    }
    const mine = merged.get(keyOf(row));
    try {
      if (mine) mine.absorb(a);
      else merged.set(keyOf(row), a);
    } catch {
      skipped++;
    }
  });
  return skipped;
}

/** The merged aggregate of each value of one segment key over a window (see {@link readKeySlices}). */
export interface SliceRead {
  /** Merged aggregate per value of the key, by its canonical (percent-encoded) form. */
  byValue: Map<string, Aggregate>;
  /** Stored rows skipped because they could not be decoded or merged. */
  skipped: number;
  /** The range read, rounded out to whole hours (slices have no minute rows). */
  from: number;
  to: number;
}

/**
 * Each value of one segment key of one version over [from, to): the rows whose segment holds a
 * `key:` pair — the pair's own rows and the full combinations that contain it; a report is in
 * exactly one of them — merged by that pair's value. Traffic folded into the combination row
 * `other` past the combination cap is in none. Slices are kept per hour and day, so the range
 * rounds out to whole hours.
 *
 * @param env - the Worker's bindings (retention)
 * @param db - drizzle handle
 * @param q - model, version, role and range
 * @param key - the segment key, e.g. `device`
 * @param parts - which sketches to decode
 * @param now - epoch ms
 */
export async function readKeySlices(
  env: Env,
  db: Db,
  q: { model: string; version: number; role: RowKey["role"]; from: number; to: number },
  key: string,
  parts: readonly AggregatePart[],
  now = Date.now(),
): Promise<SliceRead> {
  const range = cover(q.from, q.to, undefined, retentionOf(env, now, key));
  if (range.ranges.length === 0) return { byValue: new Map(), skipped: 0, from: range.from, to: range.to };
  const prefix = `${key}:`;
  const where = and(eq(aggregates.model, q.model), eq(aggregates.version, q.version), eq(aggregates.role, q.role), holdsPair(`,${prefix}`), inWindows(range.ranges));
  const pairValue = (row: { segment: string }) =>
    row.segment
      .split(",")
      .find((pair) => pair.startsWith(prefix))!
      .slice(prefix.length);
  const { merged, skipped } = await mergePages(db, where, pairValue, parts);
  return { byValue: merged, skipped, from: range.from, to: range.to };
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

/** Models a query of {@link recentTraffic} names at most: D1 binds at most 100 parameters a query. */
const MODELS_PER_QUERY = 90;

/**
 * Rows and errors (all codes) of each model's live, unsliced reports of `versions` since the
 * minute `from` falls in, from the counts stored beside the minute rows' data (nothing decoded).
 *
 * @param db - drizzle handle
 * @param versions - the versions to count, by model
 * @param from - epoch ms
 */
export async function recentTraffic(db: Db, versions: ReadonlyMap<string, readonly number[]>, from: number): Promise<Map<string, { rows: number; errors: number }>> {
  const out = new Map([...versions.keys()].map((model) => [model, { rows: 0, errors: 0 }]));
  const models = [...versions.keys()];
  for (let i = 0; i < models.length; i += MODELS_PER_QUERY) {
    const sums = await db
      .select({ model: aggregates.model, version: aggregates.version, rows: sql<number>`sum(${aggregates.rows})`, errors: sql<number>`sum(${aggregates.errors})` })
      .from(aggregates)
      .where(
        and(
          inArray(aggregates.model, models.slice(i, i + MODELS_PER_QUERY)),
          eq(aggregates.granularity, "minute"),
          sql`${aggregates.windowStart} >= ${windowStart(from, "minute")}`,
          eq(aggregates.role, "live"),
          eq(aggregates.segment, ALL_SEGMENT),
        ),
      )
      .groupBy(aggregates.model, aggregates.version)
      .all();
    for (const r of sums) {
      const t = out.get(r.model)!;
      if (!versions.get(r.model)!.includes(r.version)) continue;
      t.rows += r.rows;
      t.errors += r.errors;
    }
  }
  return out;
}

/**
 * All-time report, row and error totals per version and role of one object's stored rows (day
 * rows and the hour rows not yet rolled into them): what it adds to `report_totals` when it
 * stored rows before that table. Read a page at a time, so only the object itself may call it,
 * between its own writes: no roll-up or flush may run between two pages.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param shard - the object's shard
 */
export async function storedTotals(db: Db, model: string, shard: number): Promise<Totals[]> {
  const out = new Map<string, Totals>();
  const where = and(eq(aggregates.model, model), eq(aggregates.shard, shard), DAY_AND_UNROLLED, eq(aggregates.segment, ALL_SEGMENT));
  const columns = { reports: aggregates.reports, rows: aggregates.rows, errors: aggregates.errors, data: aggregates.data };
  await forEachPage<{ reports: number; rows: number; errors: number; data: string }>(db, where, columns, async (rows) => {
    for (const r of rows) {
      // only rows with errors are read for their codes; an unreadable one keeps its total only
      const errors = r.errors > 0 ? (await unpackAggregate(r.data, ["errors"]).catch(() => undefined))?.errors?.counts : undefined;
      addTotals(out, r, { reports: r.reports, rows: r.rows, errors: errors ?? [] });
    }
  });
  return [...out.values()];
}
