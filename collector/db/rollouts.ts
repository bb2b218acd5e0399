import { and, eq, gt, lt, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { DEFAULT_LOG_RETENTION_DAYS, rolloutView, type RolloutState } from "../rollout/state.ts";
import { insertAuditWhen, type AuditAction } from "./audit.ts";
import type { Db } from "./client.ts";
import { latestVersion } from "./versions.ts";
import { models, rolloutHistory, rollouts } from "./schema.ts";

type RolloutRow = typeof rollouts.$inferSelect;

function toState(row: RolloutRow): RolloutState {
  return {
    configVersion: row.configVersion,
    stable: row.stable,
    canary: row.canaryVersion === null ? null : { version: row.canaryVersion, percent: row.canaryPercent ?? 0 },
    shadow: row.shadowVersion === null ? null : { version: row.shadowVersion, sampleRate: row.shadowSampleRate ?? 1 },
    sampleRate: row.sampleRate,
    logRate: row.logRate,
    logRetentionDays: row.logRetentionDays,
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
    logRate: s.logRate ?? 0,
    logRetentionDays: s.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
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

/**
 * The version a model serves: its rollout's stable one, else its latest.
 *
 * @param db - drizzle handle
 * @param model - the model's key
 */
export async function servingVersion(db: Db, model: string): Promise<number> {
  return (await getRollout(db, model))?.stable ?? (await latestVersion(db, model));
}

/** Who made a rollout change, when, and what kind. */
export interface ChangeBy {
  keyId: string;
  action: AuditAction;
}

/**
 * Writes `next` over `previous` (null: the model has no rollout yet) together with its audit
 * row and `previous` into the rollout history (states older than a day leave it), in one transaction, only if the stored state is still `previous` (optimistic
 * concurrency on the config version).
 *
 * @param db - drizzle handle
 * @param model - the model name
 * @param previous - the state the change was computed from
 * @param next - the new state
 * @param by - key and action for the audit log
 * @param also - a row to write with the change, under the same condition (the guardrail's rollback alert)
 * @returns false when another change got there first (nothing was written)
 */
export async function saveRollout(db: Db, model: string, previous: RolloutState | null, next: RolloutState, by: ChangeBy, also?: (unchanged: SQL) => BatchItem<"sqlite">): Promise<boolean> {
  // The audit insert and the write are guarded by the same condition, so both happen or neither.
  const unchanged = previous
    ? sql`exists (select 1 from ${rollouts} where model = ${model} and config_version = ${previous.configVersion})`
    : sql`not exists (select 1 from ${rollouts} where model = ${model})`;
  const audit = insertAuditWhen(db, { model, keyId: by.keyId, at: next.updatedAt, action: by.action, before: previous && rolloutView(previous), after: rolloutView(next) }, unchanged);
  const extra = also ? [also(unchanged)] : [];
  let results: unknown[];
  if (previous) {
    // The replaced state goes to the history, before the update: its condition reads the row the update replaces.
    const update = db
      .update(rollouts)
      .set(toColumns(next))
      .where(and(eq(rollouts.model, model), eq(rollouts.configVersion, previous.configVersion)));
    const expired = db.delete(rolloutHistory).where(and(eq(rolloutHistory.model, model), lt(rolloutHistory.endedAt, next.updatedAt - HISTORY_KEEP_MS)));
    results = await db.batch([audit, rememberWhen(db, model, previous, next.updatedAt, unchanged), expired, ...extra, update]);
  } else {
    const insert = db
      .insert(rollouts)
      .values({ model, ...toColumns(next) })
      .onConflictDoNothing();
    results = await db.batch([audit, ...extra, insert]);
  }
  forgetRollout(model);
  // the rollout's own write is the batch's last statement
  return (results[results.length - 1] as D1Result).meta.changes === 1;
}

/** Replaced rollout states are kept this long (longer than any grace period needs). */
const HISTORY_KEEP_MS = 86_400_000;

/** Writes `state` (replaced at `endedAt`) to the history when `condition` holds. */
function rememberWhen(db: Db, model: string, state: RolloutState, endedAt: number, condition: SQL) {
  return db
    .insert(rolloutHistory)
    .select(sql`select ${model}, ${state.configVersion}, ${JSON.stringify(state)}, ${endedAt} where ${condition}`)
    .onConflictDoNothing();
}

/**
 * The rollout states of a model that a change replaced after `since` (epoch ms), salts
 * included, newest first.
 *
 * @param db - drizzle handle
 * @param model - the model name
 * @param since - epoch ms; states replaced at or before it are left out
 */
export async function recentRollouts(db: Db, model: string, since: number): Promise<RolloutState[]> {
  const rows = await db
    .select({ state: rolloutHistory.state })
    .from(rolloutHistory)
    .where(and(eq(rolloutHistory.model, model), gt(rolloutHistory.endedAt, since)))
    .orderBy(sql`${rolloutHistory.configVersion} desc`)
    .all();
  return rows.map((r) => JSON.parse(r.state) as RolloutState);
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

/** A model's rollout now and the states a change replaced within the grace period. */
export interface RolloutWithRecent {
  /** The current state; undefined when the model has no rollout yet. */
  current: RolloutState | undefined;
  /** States replaced within the grace period, newest first. */
  recent: RolloutState[];
}

/** A rollout read is reused this long: at a thousand reports a second, one read instead of hundreds. */
const ROLLOUT_TTL_MS = 1000;
/** Models cached at most; past it the cache starts over. */
const MAX_MODELS = 1000;
const cache = new Map<string, { at: number; value: Promise<RolloutWithRecent> }>();

/**
 * The rollout of `model` and the states it replaced less than `graceMs` ago, read from D1 at
 * most once a second per model and isolate (a failed read is not kept). A change saved in this
 * isolate is seen at once ({@link forgetRollout}); one saved elsewhere within a second.
 *
 * @param db - drizzle handle
 * @param model - the model name
 * @param graceMs - how far back replaced states count
 */
export function cachedRollout(db: Db, model: string, graceMs: number): Promise<RolloutWithRecent> {
  const now = Date.now();
  const hit = cache.get(model);
  if (hit && now - hit.at < ROLLOUT_TTL_MS) return hit.value;
  const value = Promise.all([getRollout(db, model), recentRollouts(db, model, now - graceMs)]).then(([current, recent]) => ({ current, recent }));
  if (cache.size >= MAX_MODELS) cache.clear();
  cache.set(model, { at: now, value });
  value.catch(() => cache.delete(model));
  return value;
}

/**
 * Drops the cached rollout of `model`, so the next read sees a change just saved.
 *
 * @param model - the model name
 */
export function forgetRollout(model: string): void {
  cache.delete(model);
}
