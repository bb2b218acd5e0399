import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { aggregateFlushes, reportTotals } from "../db/schema.ts";
import type { Aggregate } from "./aggregate.ts";
import type { RowKey } from "./rows.ts";

/** All-time totals of one version and role of a model. */
export interface Totals {
  version: number;
  role: RowKey["role"];
  reports: number;
  rows: number;
  /** Errors by code. */
  errors: Map<string, number>;
}

/**
 * Adds one aggregate's counts to the totals of its version and role in `out`.
 *
 * @param out - totals by `version|role`
 * @param key - the version and role
 * @param counts - reports, rows, and errors by code
 */
export function addTotals(out: Map<string, Totals>, key: Pick<RowKey, "version" | "role">, counts: { reports: number; rows: number; errors: Iterable<[string, number]> }): void {
  const id = `${key.version}|${key.role}`;
  let t = out.get(id);
  if (!t) out.set(id, (t = { version: key.version, role: key.role, reports: 0, rows: 0, errors: new Map() }));
  t.reports += counts.reports;
  t.rows += counts.rows;
  for (const [code, n] of counts.errors) t.errors.set(code, (t.errors.get(code) ?? 0) + n);
}

/**
 * The totals of aggregates, each under its key's version and role.
 *
 * @param sources - keys and their aggregates (e.g. a flush's chunk: each report in one of them)
 */
export function totalsOf(sources: Iterable<{ key: RowKey; aggregate: Aggregate }>): Totals[] {
  const out = new Map<string, Totals>();
  for (const { key, aggregate } of sources) addTotals(out, key, { reports: aggregate.reports, rows: aggregate.rows, errors: aggregate.errors?.counts ?? [] });
  return [...out.values()];
}

/**
 * The statements that add `totals` to a model's `report_totals` (none for nothing): for a D1
 * batch, so they land with what they count or not at all.
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param totals - what to add
 */
export function addToTotals(db: Db, model: string, totals: readonly Totals[]) {
  return totals.flatMap((t) => {
    let errors = 0;
    for (const n of t.errors.values()) errors += n;
    const rows = [{ code: "", reports: t.reports, rows: t.rows, errors }, ...[...t.errors].map(([code, n]) => ({ code, reports: 0, rows: 0, errors: n }))];
    return rows.map((r) =>
      db
        .insert(reportTotals)
        .values({ model, version: t.version, role: t.role, ...r })
        .onConflictDoUpdate({
          target: [reportTotals.model, reportTotals.version, reportTotals.role, reportTotals.code],
          set: { reports: sql`${reportTotals.reports} + ${r.reports}`, rows: sql`${reportTotals.rows} + ${r.rows}`, errors: sql`${reportTotals.errors} + ${r.errors}` },
        }),
    );
  });
}

/**
 * The aggregator objects whose stored rows are not yet in `report_totals` (they stored rows
 * before it existed and have not flushed since), of every model: one query.
 *
 * @param db - drizzle handle
 */
export async function uncountedObjects(db: Db): Promise<{ model: string; shard: number }[]> {
  const rows = await db.select({ model: aggregateFlushes.model, object: aggregateFlushes.object }).from(aggregateFlushes).where(eq(aggregateFlushes.totals, 0)).all();
  return rows.map((r) => ({ model: r.model, shard: Number(r.object.slice(r.object.lastIndexOf(":") + 1)) }));
}

/**
 * Whether all an object's stored rows are in `report_totals`: also when it never flushed (it
 * stored none, and its first flush writes its record marked).
 *
 * @param db - drizzle handle
 * @param object - `model:shard`
 */
export async function totalsCounted(db: Db, object: string): Promise<boolean> {
  const row = await db.select({ totals: aggregateFlushes.totals }).from(aggregateFlushes).where(eq(aggregateFlushes.object, object)).get();
  return row === undefined || row.totals === 1;
}

/**
 * The statement that marks an object's reports as counted in `report_totals`.
 *
 * @param db - drizzle handle
 * @param object - `model:shard`
 */
export function markCounted(db: Db, object: string) {
  return db.update(aggregateFlushes).set({ totals: 1 }).where(eq(aggregateFlushes.object, object));
}

/**
 * All-time report, row and error totals per version and role of a model, in one query: one
 * snapshot, whatever flushes and roll-ups run meanwhile. Objects listed by
 * {@link uncountedObjects} are not in it yet.
 *
 * @param db - drizzle handle
 * @param model - the model
 */
export async function readTotals(db: Db, model: string): Promise<Totals[]> {
  const rows = await db.select().from(reportTotals).where(eq(reportTotals.model, model)).orderBy(reportTotals.version, reportTotals.role, reportTotals.code).all();
  const out = new Map<string, Totals>();
  for (const r of rows) addTotals(out, r, r.code === "" ? { reports: r.reports, rows: r.rows, errors: [] } : { reports: 0, rows: 0, errors: [[r.code, r.errors]] });
  return [...out.values()];
}
