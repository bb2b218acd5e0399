import { and, eq, sql } from "drizzle-orm";
import { rolloutView, type RolloutState } from "../rollout/state.ts";
import { insertAuditWhen, type AuditAction } from "./audit.ts";
import type { Db } from "./client.ts";
import { models, rollouts } from "./schema.ts";

type RolloutRow = typeof rollouts.$inferSelect;

function toState(row: RolloutRow): RolloutState {
  return {
    configVersion: row.configVersion,
    stable: row.stable,
    canary: row.canaryVersion === null ? null : { version: row.canaryVersion, percent: row.canaryPercent ?? 0 },
    shadow: row.shadowVersion === null ? null : { version: row.shadowVersion, sampleRate: row.shadowSampleRate ?? 1 },
    sampleRate: row.sampleRate,
    salt: row.salt,
    updatedAt: row.updatedAt,
  };
}

function toColumns(s: RolloutState) {
  return {
    configVersion: s.configVersion,
    stable: s.stable,
    canaryVersion: s.canary?.version ?? null,
    canaryPercent: s.canary?.percent ?? null,
    shadowVersion: s.shadow?.version ?? null,
    shadowSampleRate: s.shadow?.sampleRate ?? null,
    sampleRate: s.sampleRate,
    salt: s.salt,
    updatedAt: s.updatedAt,
  };
}

/**
 * The rollout state of a model, if it has one.
 *
 * @param db - drizzle handle
 * @param model - the model name
 */
export async function getRollout(db: Db, model: string): Promise<RolloutState | undefined> {
  const row = await db.select().from(rollouts).where(eq(rollouts.model, model)).get();
  return row && toState(row);
}

/** Who made a rollout change, when, and what kind. */
export interface ChangeBy {
  keyId: string;
  action: AuditAction;
}

/**
 * Writes `next` over `previous` (null: the model has no rollout yet) together with its audit
 * row, in one transaction, only if the stored state is still `previous` (optimistic
 * concurrency on the config version).
 *
 * @param db - drizzle handle
 * @param model - the model name
 * @param previous - the state the change was computed from
 * @param next - the new state
 * @param by - key and action for the audit log
 * @returns false when another change got there first (nothing was written)
 */
export async function saveRollout(
  db: Db,
  model: string,
  previous: RolloutState | null,
  next: RolloutState,
  by: ChangeBy,
): Promise<boolean> {
  // The audit insert and the write are guarded by the same condition, so both happen or neither.
  const unchanged = previous
    ? sql`exists (select 1 from ${rollouts} where model = ${model} and config_version = ${previous.configVersion})`
    : sql`not exists (select 1 from ${rollouts} where model = ${model})`;
  const audit = insertAuditWhen(
    db,
    { model, keyId: by.keyId, at: next.updatedAt, action: by.action, before: previous && rolloutView(previous), after: rolloutView(next) },
    unchanged,
  );
  const write = previous
    ? db
        .update(rollouts)
        .set(toColumns(next))
        .where(and(eq(rollouts.model, model), eq(rollouts.configVersion, previous.configVersion)))
    : db
        .insert(rollouts)
        .values({ model, ...toColumns(next) })
        .onConflictDoNothing();
  const [, result] = await db.batch([audit, write]);
  return result.meta.changes === 1;
}

/**
 * The rollout states of all models (of one app when `app` is given), by model key.
 *
 * @param db - drizzle handle
 * @param app - only this app's models
 */
export async function listRollouts(db: Db, app?: string): Promise<Map<string, RolloutState>> {
  const rows = await db
    .select({ rollout: rollouts })
    .from(rollouts)
    .innerJoin(models, eq(models.id, rollouts.model))
    .where(app === undefined ? undefined : eq(models.app, app))
    .all();
  return new Map(rows.map(({ rollout }) => [rollout.model, toState(rollout)]));
}
