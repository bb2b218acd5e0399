import { asc, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditLog } from "./schema.ts";

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

/**
 * The audit log of a model, oldest first.
 *
 * @param db - drizzle handle
 * @param model - the model's id
 */
export async function listAudit(db: Db, model: string): Promise<AuditRecord[]> {
  const rows = await db.select().from(auditLog).where(eq(auditLog.model, model)).orderBy(asc(auditLog.id)).all();
  return rows.map((r) => ({
    ...r,
    before: r.before === null ? null : JSON.parse(r.before),
    after: r.after === null ? null : JSON.parse(r.after),
  }));
}
