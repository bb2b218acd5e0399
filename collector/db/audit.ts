import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { CHANGES_STABLE, auditLog } from "./schema.ts";

/** What an audit entry records. */
export type AuditAction = (typeof auditLog.$inferSelect)["action"];

/** One audit entry, its before and after parsed from JSON. */
export interface AuditRecord {
  id: number;
  model: string;
  keyId: string;
  /** Epoch ms. */
  at: number;
  action: AuditAction;
  before: unknown;
  after: unknown;
}

/** An audit entry to write. */
export type NewAudit = Omit<AuditRecord, "id">;

/**
 * A query that writes `entry` only when `condition` holds, to run in one batch (transaction)
 * with the change it records, guarded by the same condition.
 *
 * @param db - drizzle handle
 * @param entry - the entry
 * @param condition - SQL condition evaluated at write time
 */
export function insertAuditWhen(db: Db, entry: NewAudit, condition: SQL) {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  // Values in the table's column order; a null id lets SQLite number the row.
  return db.insert(auditLog).select(sql`select null, ${entry.model}, ${entry.keyId}, ${entry.at}, ${entry.action}, ${json(entry.before)}, ${json(entry.after)} where ${condition}`);
}

/**
 * A query that writes `entry` unconditionally.
 *
 * @param db - drizzle handle
 * @param entry - the entry
 */
export function insertAudit(db: Db, entry: NewAudit) {
  return insertAuditWhen(db, entry, sql`1 = 1`);
}

/** Entries {@link stableChangesNewestFirst} reads per query. */
const STABLE_CHANGES_PAGE = 16;

const parsed = (r: typeof auditLog.$inferSelect): AuditRecord => ({
  ...r,
  before: r.before === null ? null : JSON.parse(r.before),
  after: r.after === null ? null : JSON.parse(r.after),
});

/**
 * The query for a page of a model's entries that changed its stable version, newest first, below
 * entry id `below`: answered from the partial index `audit_log_stable_changes`, so it reads those
 * entries only, however many other changes the log holds.
 *
 * @param db - drizzle handle
 * @param model - the model's id
 * @param below - entries with a smaller id
 * @param limit - entries
 */
export const stableChangesQuery = (db: Db, model: string, below: number, limit: number) =>
  db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.model, model), lt(auditLog.id, below), CHANGES_STABLE))
    .orderBy(desc(auditLog.id))
    .limit(limit);

/**
 * The entries of a model's audit log that changed its stable version, newest first, read a page
 * at a time as the caller walks them: a walk that stops early (the previous stable is usually a
 * few changes back) reads only the pages it reached.
 *
 * @param db - drizzle handle
 * @param model - the model's id
 */
export async function* stableChangesNewestFirst(db: Db, model: string): AsyncGenerator<AuditRecord> {
  let below = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const rows = await stableChangesQuery(db, model, below, STABLE_CHANGES_PAGE).all();
    yield* rows.map(parsed);
    if (rows.length < STABLE_CHANGES_PAGE) return;
    below = rows[rows.length - 1]!.id;
  }
}

/**
 * The newest `limit` entries of a model's audit log, newest first.
 *
 * @param db - drizzle handle
 * @param model - the model's id
 * @param limit - entries
 */
export async function newestAudit(db: Db, model: string, limit: number): Promise<AuditRecord[]> {
  const rows = await db.select().from(auditLog).where(eq(auditLog.model, model)).orderBy(desc(auditLog.id)).limit(limit).all();
  return rows.map(parsed);
}
