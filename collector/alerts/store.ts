import { and, desc, eq, getTableColumns, inArray, isNull, lt, lte, notExists, or, sql, type SQL } from "drizzle-orm";
import { DEVICE_SEGMENT_KEY } from "../../protocol/device-class.ts";
import { OTHER_VALUE } from "../aggregates/segments.ts";
import type { Db } from "../db/client.ts";
import { alertStates, alerts, models, rollouts } from "../db/schema.ts";
import { type AlertKind, type Condition, conditionKey } from "./conditions.ts";

/** A stored alert: one state change of one condition. */
export type AlertRow = typeof alerts.$inferSelect;

/** A stored alert with its model's app, as the API lists it and webhooks carry it. */
export type AppAlertRow = AlertRow & { app: string };

/**
 * An alert's columns and its model's app, from `models`: a model's key names its app only for
 * models created after names were scoped by app (see model-key.ts); a subquery by primary key, so
 * the plan of the query it is in stays as it is.
 */
const withApp = { ...getTableColumns(alerts), app: sql<string>`(select ${models.app} from ${models} where ${models.id} = ${alerts.model})` };

/** Webhook deliveries tried per alert before giving up: spaced by {@link retryDelayMs}, about a day of tries. */
export const MAX_ATTEMPTS = 30;

/**
 * How long after its `attempt`-th failed post an alert is tried again: 1, 2, 4 … 32 minutes, then
 * every hour (a receiver down for an hour misses nothing; 30 attempts span ~25 h).
 *
 * @param attempt - the attempt that failed, from 1
 */
export const retryDelayMs = (attempt: number): number => Math.min(2 ** (attempt - 1), 60) * 60_000;

/**
 * How long a claimed delivery attempt is another run's (ms): far past a post's 10 s timeout
 * (webhook.ts), so a run still posting is never posted over; a run that died after its claim
 * (evicted mid-POST) leaves the alert to the runs after it.
 */
export const CLAIM_LEASE_MS = 60_000;

/** Where a condition was judged. */
export interface Judged {
  model: string;
  version: number;
  windowFrom: number;
  windowTo: number;
}

/** How many evaluations confirm a condition: it fires when it held in `k` of the last `m`. */
export interface Confirm {
  k: number;
  m: number;
}

/** What one evaluation changed: the new alerts, and the conditions it judged firing after it. */
export interface Recorded {
  alerts: AlertRow[];
  firing: Condition[];
}

/**
 * The record of recent evaluations after one more: "1" where the condition held, oldest first,
 * the last `m` kept, leading "0"s dropped (so a condition that never held stores "").
 *
 * @param recent - the record so far
 * @param holds - whether the condition held now
 * @param m - evaluations kept
 */
export function nextRecent(recent: string, holds: boolean, m: number): string {
  return `${recent}${holds ? "1" : "0"}`.slice(-m).replace(/^0+/, "");
}

/**
 * Records one evaluation of a version's conditions: each condition's recent evaluations, and its
 * state — firing when it held in `confirm.k` of the last `confirm.m`, else resolved (a condition
 * never seen before counts as resolved). A state change is stored as an alert. Rows are written
 * only for what changed, so a condition that keeps not holding costs no write, and only if the
 * condition's stored state is still the one read: of two evaluations that overlap (a cron run
 * still going when the next starts), the later writes nothing, so no change is stored twice.
 *
 * A condition with a record that this evaluation did not measure counts as not holding when its
 * kind was judged here (its subject had no data: a device class without calls, a feature without
 * values) or is no longer watched; so a firing alert of a slice of traffic that went away, or of
 * an objective the owner removed, resolves. A kind not judged at all (a window without labels, a
 * window judged on its error rate alone) leaves its records as they are, and so does a condition
 * whose subject had data that cannot be judged without its heaviest sender (`unjudged`): one
 * sender's calls elsewhere cannot resolve it; nor does a device class while the window has a
 * device class `other` to judge (the segment cap may have folded the class's calls into it).
 *
 * @param db - drizzle handle
 * @param where - model, version and window judged
 * @param conditions - the judged conditions
 * @param watched - the kinds the model's configuration watches
 * @param confirm - evaluations that confirm a change
 * @param message - the text of an alert for a condition and its new state
 * @param now - epoch ms
 */
export async function recordEvaluation(
  db: Db,
  where: Judged,
  conditions: readonly Condition[],
  watched: ReadonlySet<AlertKind>,
  confirm: Confirm,
  message: (c: Condition, firing: boolean) => string,
  now: number,
): Promise<Recorded> {
  if (conditions.length === 0) return { alerts: [], firing: [] };
  const states = await db
    .select()
    .from(alertStates)
    .where(and(eq(alertStates.model, where.model), eq(alertStates.version, where.version)))
    .all();
  const before = new Map(states.map((s) => [conditionKey(s), s]));
  const measured = new Set(conditions.map(conditionKey));
  const judged = new Set(conditions.flatMap((c) => (c.unjudged ? [] : [c.kind])));
  // a device class the segment cap folded into `other` (one sender's junk classes can) may have its calls there: not "no data"
  const folded = (s: { kind: string; subject: string }) =>
    s.subject.startsWith(`${DEVICE_SEGMENT_KEY}:`) && measured.has(conditionKey({ kind: s.kind, subject: `${DEVICE_SEGMENT_KEY}:${OTHER_VALUE}` }));
  const unmeasured = states
    .map((s) => ({ ...s, kind: s.kind as AlertKind }))
    .filter((s) => !measured.has(conditionKey(s)) && (s.state === "firing" || s.recent !== "") && ((judged.has(s.kind) && !folded(s)) || !watched.has(s.kind)))
    .map((s): Condition => ({ kind: s.kind, subject: s.subject, holds: false, value: null, threshold: null, unmeasured: true }));
  const firing: Condition[] = [];
  const statements = [...conditions.filter((c) => !c.unjudged), ...unmeasured].flatMap((c) => {
    const prior = before.get(conditionKey(c));
    const wasFiring = prior?.state === "firing";
    const recent = nextRecent(prior?.recent ?? "", c.holds, confirm.m);
    const isFiring = [...recent].filter((bit) => bit === "1").length >= confirm.k;
    if (isFiring) firing.push(c);
    const changed = isFiring !== wasFiring;
    if (!changed && recent === (prior?.recent ?? "")) return [];
    const state = isFiring ? ("firing" as const) : ("resolved" as const);
    const key = { model: where.model, version: where.version, kind: c.kind, subject: c.subject };
    const set = changed ? { state, since: now, recent } : { recent };
    const stored = sql`select 1 from ${alertStates} where model = ${key.model} and version = ${key.version} and kind = ${key.kind} and subject = ${key.subject}`;
    const unchanged = prior ? sql`exists (${stored} and state = ${prior.state} and since = ${prior.since} and recent = ${prior.recent})` : sql`not exists (${stored})`;
    const upsert = db
      .insert(alertStates)
      .values({ ...key, state, since: now, recent })
      .onConflictDoUpdate({ target: [alertStates.model, alertStates.version, alertStates.kind, alertStates.subject], set, setWhere: unchanged });
    if (!changed) return [upsert];
    const alert = { ...where, kind: c.kind, subject: c.subject, state, value: c.value, threshold: c.threshold, message: message(c, isFiring), at: now };
    // the alert first: its condition reads the state the upsert replaces
    return [insertAlertWhen(db, alert, unchanged).returning(), upsert];
  });
  if (statements.length === 0) return { alerts: [], firing };
  const results = await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
  return { alerts: results.flatMap((r) => (Array.isArray(r) ? (r as AlertRow[]) : [])), firing };
}

/**
 * The conditions of a version whose stored state is firing, as {@link conditionKey}s: those its
 * last evaluation judged firing, and those it kept firing unjudged or without judging (a window
 * too quiet, a feature without values or whose values may all be one sender's).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param version - the version
 */
export async function firingConditions(db: Db, model: string, version: number): Promise<Set<string>> {
  const rows = await db
    .select({ kind: alertStates.kind, subject: alertStates.subject })
    .from(alertStates)
    .where(and(eq(alertStates.model, model), eq(alertStates.version, version), eq(alertStates.state, "firing")))
    .all();
  return new Set(rows.map(conditionKey));
}

/** An alert to store: a state change of a condition, not yet delivered. */
export type NewAlert = Judged & Pick<AlertRow, "kind" | "subject" | "state" | "value" | "threshold" | "message" | "at">;

/**
 * A query that stores `alert` only when `condition` holds, to run in one batch with the change
 * it reports (a condition's new state, the guardrail's rollback).
 *
 * @param db - drizzle handle
 * @param alert - the alert
 * @param condition - SQL condition evaluated at write time
 */
export function insertAlertWhen(db: Db, alert: NewAlert, condition: SQL) {
  const a = alert;
  // Values in the table's column order (as insertAuditWhen): a null id lets SQLite number the row; not delivered, no attempt yet, no retry due.
  return db
    .insert(alerts)
    .select(
      sql`select null, ${a.model}, ${a.version}, ${a.kind}, ${a.subject}, ${a.state}, ${a.value}, ${a.threshold}, ${a.windowFrom}, ${a.windowTo}, ${a.message}, ${a.at}, null, 0, null, null, null where ${condition}`,
    );
}

/**
 * A query that forgets the recent evaluations of a version's conditions when `condition` holds,
 * to run in one batch with the rollout change that launches the version as a canary: a canary
 * launched again after a rollback is judged on its new windows, not on the ones that rolled it
 * back (with `confirm` k of m, those would roll it back again at its first judged window). The
 * states stay: a condition still firing resolves, as an alert, at the first judged window in which
 * it is not confirmed (k of the evaluations since the launch).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param version - the version launched
 * @param condition - SQL condition evaluated at write time
 */
export function forgetEvaluationsWhen(db: Db, model: string, version: number, condition: SQL) {
  return db
    .update(alertStates)
    .set({ recent: "" })
    .where(and(eq(alertStates.model, model), eq(alertStates.version, version), condition));
}

/** An `alerts` row is the change that started its condition's `alert_states` row: a state change's alert has the change's time, `since`. */
const startedItsState = and(
  eq(alerts.model, alertStates.model),
  eq(alerts.version, alertStates.version),
  eq(alerts.kind, alertStates.kind),
  eq(alerts.subject, alertStates.subject),
  eq(alerts.at, alertStates.since),
);

/**
 * Deletes alerts (state changes) older than `before`, except the one each firing condition
 * started with (what `GET /v1/alerts?state=firing` shows): a condition that flaps writes a row a
 * minute, so the table is bounded by time, not by the number of conditions.
 *
 * @param db - drizzle handle
 * @param before - epoch ms: alerts before it go
 * @returns rows deleted
 */
export async function pruneAlerts(db: Db, before: number): Promise<number> {
  const starts = db
    .select({ one: sql`1` })
    .from(alertStates)
    .where(and(eq(alertStates.state, "firing"), startedItsState));
  const result = await db.delete(alerts).where(and(lt(alerts.at, before), notExists(starts)));
  return result.meta.changes ?? 0;
}

/**
 * Alerts whose webhook has not been delivered yet, that have tries left and whose next try is
 * due at `now`, oldest first; with them the earlier undelivered changes of a due alert's
 * condition (its firing waiting for its next try when its resolution is new), so a receiver
 * learns a condition's changes in the order they happened (deliver holds a change back while an
 * earlier one of its condition fails).
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param now - epoch ms of the run
 */
export async function undelivered(db: Db, model: string, now: number): Promise<AppAlertRow[]> {
  const later = sql`select 1 from ${alerts} later where later.model = ${alerts.model} and later.version = ${alerts.version} and later.kind = ${alerts.kind}
    and later.subject = ${alerts.subject} and later.id > ${alerts.id} and later.delivered_at is null and later.attempts < ${MAX_ATTEMPTS}
    and (later.retry_at is null or later.retry_at <= ${now})`;
  return db
    .select(withApp)
    .from(alerts)
    .where(and(eq(alerts.model, model), isNull(alerts.deliveredAt), lt(alerts.attempts, MAX_ATTEMPTS), or(isNull(alerts.retryAt), lte(alerts.retryAt, now), sql`exists (${later})`)))
    .orderBy(alerts.id)
    .all();
}

/**
 * Claims the next delivery attempt of alerts read as undelivered, each with its `attempts`, in
 * one batch: counts each and marks it claimed at `now`, unless another run (a cron run
 * overlapping this one) counted it or delivered it first, or claimed it less than
 * {@link CLAIM_LEASE_MS} ago and is still posting it (its attempt not yet recorded).
 *
 * @param db - drizzle handle
 * @param post - the alerts as read (one post's: at most MAX_ALERTS_PER_POST of webhook.ts)
 * @param now - epoch ms, the time it is (not the run's scheduled time: a run may be a minute in)
 * @returns the alerts this caller won the attempt of and may post
 */
export async function claimDeliveries<A extends Pick<AlertRow, "id" | "attempts">>(db: Db, post: readonly A[], now: number): Promise<A[]> {
  const claims = post.map((a) =>
    db
      .update(alerts)
      .set({ attempts: a.attempts + 1, claimedAt: now })
      .where(and(eq(alerts.id, a.id), eq(alerts.attempts, a.attempts), isNull(alerts.deliveredAt), or(isNull(alerts.claimedAt), lte(alerts.claimedAt, now - CLAIM_LEASE_MS))))
      .returning({ id: alerts.id }),
  );
  const won = new Set((await db.batch(claims as [(typeof claims)[number], ...(typeof claims)[number][]])).flat().map((r) => r.id));
  return post.filter((a) => won.has(a.id));
}

/**
 * Records the delivery of alerts whose post the receiver accepted, ending their claims.
 *
 * @param db - drizzle handle
 * @param post - the alerts of the post (at most MAX_ALERTS_PER_POST of webhook.ts)
 * @param now - epoch ms of the run
 */
export async function recordDelivered(db: Db, post: readonly Pick<AlertRow, "id">[], now: number): Promise<void> {
  const ids = post.map((a) => a.id);
  await db.update(alerts).set({ deliveredAt: now, lastError: null, claimedAt: null, retryAt: null }).where(inArray(alerts.id, ids));
}

/** Alerts one statement of {@link retryLater} names at most: D1 binds at most 100 parameters a query. */
const RETRIES_PER_STATEMENT = 90;

/** An alert whose next delivery attempt waits, and the failed attempt whose {@link retryDelayMs} it waits. */
export interface Retry {
  id: number;
  attempt: number;
}

/**
 * Puts off the next delivery attempt of alerts, each {@link retryDelayMs} of its failed attempt
 * after `now`: the alerts of a post that failed (with its `error`, which is recorded, and their
 * claims ended), or alerts held back behind an earlier change of their condition whose post failed
 * (without an error: they are tried with it, at its next try, their own tries unspent, their last
 * error and claim as they were).
 *
 * @param db - drizzle handle
 * @param retries - the alerts, each with the failed attempt: its own, or the earlier change's
 * @param now - epoch ms of the run
 * @param error - why the post of these alerts failed; undefined for alerts held back
 */
export async function retryLater(db: Db, retries: readonly Retry[], now: number, error?: string): Promise<void> {
  if (retries.length === 0) return;
  // a statement per attempt (alerts read together almost always failed at one) and per
  // RETRIES_PER_STATEMENT alerts: those held back may be many (a wide model's features resolving)
  const groups: { attempt: number; ids: number[] }[] = [];
  for (const r of retries) {
    const group = groups.findLast((g) => g.attempt === r.attempt);
    if (group && group.ids.length < RETRIES_PER_STATEMENT) group.ids.push(r.id);
    else groups.push({ attempt: r.attempt, ids: [r.id] });
  }
  const outcome = error === undefined ? {} : { lastError: error, claimedAt: null };
  const updates = groups.map(({ attempt, ids }) =>
    db
      .update(alerts)
      .set({ ...outcome, retryAt: now + retryDelayMs(attempt) })
      .where(inArray(alerts.id, ids)),
  );
  await db.batch(updates as [(typeof updates)[number], ...(typeof updates)[number][]]);
}

/** Which alerts a list covers: `model` (a model's key), else `app`, else every model. */
export interface AlertScope {
  model?: string | undefined;
  app?: string | undefined;
}

/** The condition on a table's `model` column that keeps a scope's models. */
function inScope(db: Db, column: typeof alerts.model | typeof alertStates.model, scope: AlertScope) {
  if (scope.model !== undefined) return eq(column, scope.model);
  if (scope.app !== undefined) return inArray(column, db.select({ id: models.id }).from(models).where(eq(models.app, scope.app)));
  return undefined;
}

/**
 * Alerts of one model, of every model of one app, or of all models, newest first, each with its model's app.
 *
 * @param db - drizzle handle
 * @param scope - the models
 * @param limit - most alerts
 */
export async function listAlerts(db: Db, scope: AlertScope, limit: number): Promise<AppAlertRow[]> {
  return db
    .select(withApp)
    .from(alerts)
    .where(inScope(db, alerts.model, scope))
    .orderBy(desc(alerts.id))
    .limit(limit)
    .all();
}

/**
 * The conditions firing now (their state in `alert_states`) of the versions the rollout serves
 * (stable, canary, shadow), each as the alert that started it, newest first: however many state
 * changes came after it elsewhere, a firing alert is listed (a list of recent changes loses it
 * once newer ones fill it, e.g. conditions that flap). A version no longer served is no longer
 * judged, so its last state is no news.
 *
 * @param db - drizzle handle
 * @param scope - the models
 * @param limit - most alerts
 */
export async function firingAlerts(db: Db, scope: AlertScope, limit: number): Promise<AppAlertRow[]> {
  const started = and(startedItsState, eq(alerts.state, "firing"));
  const served = sql`exists (select 1 from ${rollouts} where ${rollouts.model} = ${alertStates.model} and ${alertStates.version} in (${rollouts.stable}, ${rollouts.canaryVersion}, ${rollouts.shadowVersion}))`;
  // a cross join, which SQLite never reorders: the few firing conditions are the outer loop, each
  // finding its alert by alerts_condition (with an inner join it read every alert of the scope)
  return db
    .select(withApp)
    .from(alertStates)
    .crossJoin(alerts)
    .where(and(eq(alertStates.state, "firing"), inScope(db, alertStates.model, scope), started, served))
    .orderBy(desc(alerts.id))
    .limit(limit)
    .all();
}
