import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { alertStates, alerts } from "../db/schema.ts";
import type { Condition } from "./conditions.ts";

/** A stored alert: one state change of one condition. */
export type AlertRow = typeof alerts.$inferSelect;

/** Webhook deliveries tried per alert before giving up. */
export const MAX_ATTEMPTS = 5;

/** Where a condition was judged. */
export interface Judged {
  model: string;
  version: number;
  windowFrom: number;
  windowTo: number;
}

/**
 * Stores the conditions whose state changed (firing ↔ resolved; a condition never seen
 * before counts as resolved) as alerts and updates the current states.
 *
 * @param db - drizzle handle
 * @param where - model, version and window judged
 * @param conditions - the judged conditions
 * @param message - the text of an alert for a condition
 * @param now - epoch ms
 * @returns the new alerts
 */
export async function recordChanges(db: Db, where: Judged, conditions: readonly Condition[], message: (c: Condition) => string, now: number): Promise<AlertRow[]> {
  if (conditions.length === 0) return [];
  const states = await db
    .select()
    .from(alertStates)
    .where(and(eq(alertStates.model, where.model), eq(alertStates.version, where.version)))
    .all();
  const current = new Map(states.map((s) => [`${s.kind}|${s.subject}`, s.state]));
  const changed = conditions.filter((c) => (current.get(`${c.kind}|${c.subject}`) ?? "resolved") !== (c.firing ? "firing" : "resolved"));
  if (changed.length === 0) return [];
  const statements = changed.flatMap((c) => {
    const state = c.firing ? ("firing" as const) : ("resolved" as const);
    return [
      db
        .insert(alertStates)
        .values({ model: where.model, version: where.version, kind: c.kind, subject: c.subject, state, since: now })
        .onConflictDoUpdate({ target: [alertStates.model, alertStates.version, alertStates.kind, alertStates.subject], set: { state, since: now } }),
      db
        .insert(alerts)
        .values({ ...where, kind: c.kind, subject: c.subject, state, value: c.value, threshold: c.threshold, message: message(c), at: now, attempts: 0 })
        .returning(),
    ];
  });
  const results = await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
  return results.flatMap((r) => (Array.isArray(r) ? (r as AlertRow[]) : []));
}

/**
 * Alerts whose webhook has not been delivered yet and that have tries left, oldest first.
 *
 * @param db - drizzle handle
 * @param model - the model
 */
export async function undelivered(db: Db, model: string): Promise<AlertRow[]> {
  return db
    .select()
    .from(alerts)
    .where(and(eq(alerts.model, model), isNull(alerts.deliveredAt), lt(alerts.attempts, MAX_ATTEMPTS)))
    .orderBy(alerts.id)
    .all();
}

/**
 * Records one delivery attempt.
 *
 * @param db - drizzle handle
 * @param id - the alert
 * @param attempts - attempts so far, this one included
 * @param error - why it failed, or undefined when delivered
 * @param now - epoch ms
 */
export async function recordDelivery(db: Db, id: number, attempts: number, error: string | undefined, now: number): Promise<void> {
  await db
    .update(alerts)
    .set(error === undefined ? { attempts, deliveredAt: now, lastError: null } : { attempts, lastError: error })
    .where(eq(alerts.id, id));
}

/**
 * Alerts of a model (or all models), newest first.
 *
 * @param db - drizzle handle
 * @param model - one model, or undefined for all
 * @param limit - most alerts
 */
export async function listAlerts(db: Db, model: string | undefined, limit: number): Promise<AlertRow[]> {
  return db
    .select()
    .from(alerts)
    .where(model === undefined ? undefined : eq(alerts.model, model))
    .orderBy(desc(alerts.id))
    .limit(limit)
    .all();
}
