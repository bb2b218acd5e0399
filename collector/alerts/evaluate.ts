import type { SQL } from "drizzle-orm";
import { DEVICE_SEGMENT_KEY } from "../../protocol/device-class.ts";
import type { Aggregate } from "../aggregates/aggregate.ts";
import { pruneAggregates } from "../aggregates/retention.ts";
import { readKeySlices } from "../aggregates/store.ts";
import { closedUntil } from "../aggregates/windows.ts";
import { alertRetentionDays, allowPrivateWebhooks, rolloutGraceMs } from "../config.ts";
import { stableChangesNewestFirst } from "../db/audit.ts";
import { type Db, openDb } from "../db/client.ts";
import { getRollout, recentRollouts, saveRollout } from "../db/rollouts.ts";
import { isPValueTest } from "../drift/test-choice.ts";
import { windowDrift } from "../drift/window-drift.ts";
import { DRIFT_TEST_NAMES } from "../../protocol/drift-test-names.ts";
import { announceRollout } from "../push/announce.ts";
import { canaryJudgedFrom } from "../rollout/canary-since.ts";
import { planRollback } from "../rollout/rollback.ts";
import type { RolloutState } from "../rollout/state.ts";
import { iso } from "../time.ts";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";
import { listAlertConfigs } from "./config.ts";
import { type AlertKind, type Condition, conditionKey, evaluateConditions, watchedKinds } from "./conditions.ts";
import { type AlertRow, type Judged, type Retry, claimDeliveries, firingConditions, insertAlertWhen, pruneAlerts, recordDelivered, recordEvaluation, retryLater, undelivered } from "./store.ts";
import { postGroups, postWebhook } from "./webhook.ts";

/** Conditions on the inputs, which a canary and the stable version see alike when the traffic moves. */
const INPUT_DRIFT: ReadonlySet<AlertKind> = new Set(["dataset_drift", "feature_drift"]);

/** Audit-log key id of rollbacks the guardrail makes. */
export const GUARDRAIL_KEY_ID = "guardrail";

const fmt = (x: number | null) => (x === null ? "n/a" : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

/** A feature's score as its alert says it: "KS p-value 1.2e-5, drift below 0.05", "Jensen–Shannon 0.0855, drift above 0.0408". */
function featureScore(c: Condition): string {
  if (!c.test) return `test value ${fmt(c.value)}`;
  return `${DRIFT_TEST_NAMES[c.test]} ${fmt(c.value)}, drift ${isPValueTest(c.test) ? "below" : "above"} ${fmt(c.threshold)}`;
}

/** The Slack-readable sentence of an alert: a condition that now fires or resolves. */
function describe(where: Judged, c: Condition, firing: boolean): string {
  const head = `[driftline] ${where.model} v${where.version}`;
  const span = `${iso(where.windowFrom)} – ${iso(where.windowTo)}`;
  const state = firing ? "FIRING" : "resolved";
  if (c.unmeasured) return `${head}: ${c.kind.replaceAll("_", " ")}${c.subject && ` of ${c.subject}`} ${state}: not measured over ${span} (no data for it, or no longer watched)`;
  switch (c.kind) {
    case "dataset_drift":
      return `${head}: dataset drift ${state}: ${fmt(c.value)} of features drifted (threshold ${fmt(c.threshold)}) over ${span}`;
    case "feature_drift":
      return `${head}: drift of feature "${c.subject}" ${state} (${featureScore(c)}) over ${span}`;
    case "error_rate":
      return `${head}: error rate ${state}: ${fmt(c.value)} (objective ${fmt(c.threshold)}) over ${span}`;
    case "latency_p95":
    case "latency_p99":
      return `${head}: ${c.kind.slice(-3)} latency of ${c.subject} ${state}: ${fmt(c.value)} ms (objective ${fmt(c.threshold)} ms) over ${span}`;
    case "throughput_fleet":
      return `${head}: fleet throughput ${state}: ${fmt(c.value)} predictions/s (objective at least ${fmt(c.threshold)}) over ${span}`;
    case "throughput_client":
      return `${head}: throughput per client ${state}: ${fmt(c.value)} predictions/s (objective at least ${fmt(c.threshold)}) over ${span}`;
    case "mae_increase":
      return `${head}: mean absolute error ${state}: ${fmt(c.value)} above the baseline's, as a share (threshold ${fmt(c.threshold)}) over ${span}`;
    case "accuracy_drop":
      return `${head}: accuracy ${state}: ${fmt(c.value)} below the baseline (threshold ${fmt(c.threshold)}) over ${span}`;
    case "estimated_accuracy_drop":
      return `${head}: accuracy estimated without labels ${state}: ${fmt(c.value)} below the baseline (threshold ${fmt(c.threshold)}) over ${span}`;
    case "rollback":
      return `${head}: canary rolled back automatically by the guardrail over ${span}`;
  }
}

/**
 * Rolls the canary back (the registry's own plan and write) and stores the rollback as an alert
 * in the same transaction, so neither is kept without the other; false if the rollout changed
 * meanwhile.
 */
async function rollBackCanary(env: Env, db: Db, where: Judged, current: RolloutState, now: number): Promise<boolean> {
  const { model } = where;
  const plan = await planRollback(current, stableChangesNewestFirst(db, model), now);
  const rollback: Condition = { kind: "rollback", subject: "", holds: true, value: null, threshold: null };
  const row = { ...where, kind: "rollback", subject: "", state: "firing" as const, value: null, threshold: null, message: describe(where, rollback, true), at: now };
  const alert = (unchanged: SQL) => insertAlertWhen(db, row, unchanged);
  const saved = await saveRollout(db, model, current, plan.next, { keyId: GUARDRAIL_KEY_ID, action: plan.action }, alert);
  if (saved) await announceRollout(env, model, plan.next.configVersion);
  return saved;
}

/**
 * Each device class of a version over the window judged: slices are kept per hour, so this reads
 * the whole hours the window touches (docs/ingest.md "Objectives").
 */
async function deviceSlices(env: Env, db: Db, where: Judged, now: number): Promise<ReadonlyMap<string, Aggregate>> {
  const read = await readKeySlices(env, db, { model: where.model, version: where.version, role: "live", from: where.windowFrom, to: where.windowTo }, DEVICE_SEGMENT_KEY, ["latency"], now);
  return read.byValue;
}

/**
 * Which versions' windows a model's evaluator judged already (collector/alerts/model-evaluator.ts),
 * so each version's window is judged once: a run the platform repeats judges nothing again, and a
 * try that failed after judging the stable version is tried again without judging it twice.
 */
export interface JudgedWindows {
  /** Whether the window of `version` ending at `windowTo` was judged already. */
  judged(version: number, windowTo: number): Promise<boolean>;
  /** Records the window of `version` ending at `windowTo` as judged. */
  record(version: number, windowTo: number): Promise<void>;
}

/**
 * Judges the trailing window of closed minutes at `now` of a model's stable and canary versions,
 * stores each condition's evaluation and the state changes as alerts, and rolls a canary back
 * when one of its own conditions fires (if configured).
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param config - the model's alert configuration
 * @param now - epoch ms of the run
 * @param windows - the versions' windows judged already, each version's recorded once judged
 */
export async function evaluateModel(env: Env, db: Db, config: AlertConfig & { model: string }, now: number, windows: JudgedWindows): Promise<void> {
  const rollout = await getRollout(db, config.model);
  if (!rollout) return;
  const windowTo = closedUntil(env, now);
  const windowFrom = windowTo - config.windowMinutes * 60_000;
  const versions = [{ version: rollout.stable, canary: false, from: windowFrom }];
  if (rollout.canary) {
    const replaced = await recentRollouts(db, config.model, windowFrom - rolloutGraceMs(env));
    versions.push({ version: rollout.canary.version, canary: true, from: canaryJudgedFrom(rollout, replaced, windowFrom) });
  }
  // the stable's firing conditions after its evaluation (judged first): input drift it shows too is the traffic's
  let stableFiring = new Set<string>();
  for (const { version, canary, from } of versions) {
    // a canary launched again in the window: none of its own minutes closed yet
    if (from >= windowTo) continue;
    // judged by an earlier run for this window, or a try of it that failed after it: counted once, its firing as stored
    if (await windows.judged(version, windowTo)) {
      if (!canary && rollout.canary) stableFiring = await firingConditions(db, config.model, version);
      continue;
    }
    const where: Judged = { model: config.model, version, windowFrom: from, windowTo };
    const drift = await windowDrift(env, db, { model: config.model, version, role: "live", from, to: windowTo, segment: "" }, true);
    if (!drift) continue;
    const devices = config.latencyP95Ms !== undefined || config.latencyP99Ms !== undefined ? await deviceSlices(env, db, where, now) : new Map();
    const slo = { aggregate: drift.aggregate, devices, windowMs: windowTo - from };
    const conditions = evaluateConditions(config, drift, slo, drift.reference.reference.performance);
    const { firing } = await recordEvaluation(db, where, conditions, watchedKinds(config), config.confirm, (c, fires) => describe(where, c, fires), now);
    // as stored, not as judged: drift the stable keeps firing unjudged (one sender's rows outweighing its
    // values, none, a window too quiet) is still the traffic's
    if (!canary && rollout.canary) stableFiring = await firingConditions(db, config.model, version);
    // the canary's own: not the input drift both versions show (the population moved, not the model)
    // nor an error rate one sender may have breached (its floor without any one sender is met)
    const own = firing.filter((c) => !(INPUT_DRIFT.has(c.kind) && stableFiring.has(conditionKey(c))) && !c.contested);
    // a rollback is an event, not a state: every one is its own alert
    if (canary && config.autoRollback && own.length > 0) await rollBackCanary(env, db, where, rollout, now);
    await windows.record(version, windowTo);
  }
}

/**
 * Posts every undelivered alert of a model, oldest first, the alerts of one version, kind and
 * state of one evaluation in one post (postGroups), recording each attempt; an alert another
 * run is posting is left to it.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param config - the model's alert configuration (its webhook)
 * @param now - epoch ms of the run
 */
export async function deliver(env: Env, db: Db, config: AlertConfig & { model: string }, now: number): Promise<void> {
  const webhook = config.webhook;
  // without a webhook alerts are only recorded; one set later receives those still undelivered
  if (webhook === undefined) return;
  // a condition's changes reach the receiver in order: once one is not posted in this run, the later
  // ones of its condition wait for it, put off to its next try when its post failed
  const condition = (a: AlertRow) => `${a.version}|${a.kind}|${a.subject}`;
  // each condition waiting, with the attempt of its change whose post failed (undefined: another run is posting it)
  const waiting = new Map<string, number | undefined>();
  const deferred: Retry[] = [];
  for (const group of postGroups(await undelivered(db, config.model, now))) {
    const ready = group.filter((a) => !waiting.has(condition(a)));
    const post = ready.length === 0 ? [] : await claimDeliveries(db, ready, Date.now());
    for (const a of group.filter((a) => !post.includes(a))) {
      const attempt = waiting.get(condition(a));
      if (attempt === undefined) waiting.set(condition(a), undefined);
      else deferred.push({ id: a.id, attempt });
    }
    if (post.length === 0) continue;
    const error = await postWebhook(webhook, post, allowPrivateWebhooks(env));
    if (error === undefined) {
      await recordDelivered(db, post, now);
      continue;
    }
    await retryLater(
      db,
      post.map((a) => ({ id: a.id, attempt: a.attempts + 1 })),
      now,
      error,
    );
    for (const a of post) waiting.set(condition(a), a.attempts + 1);
  }
  await retryLater(db, deferred, now);
}

/** Models judged at once: a Worker invocation keeps at most six outgoing connections open. */
const EVALUATIONS_AT_ONCE = 6;

/** The evaluator object of a model. */
const evaluator = (env: Env, model: string) => env.EVALUATOR.get(env.EVALUATOR.idFromName(model));

/**
 * The cron job: once an hour prunes expired windows and alerts; then hands every model with an
 * alert configuration to its own {@link ModelEvaluator}, six at a time, which judges the
 * trailing window of closed minutes of its stable and canary versions, records each condition's
 * evaluation and stores state changes as alerts (a condition fires when it held in `confirm.k` of
 * the last `confirm.m` windows), rolls a canary back when one of its conditions fires (if
 * configured; input drift the stable version shows too is not the canary's); once every model
 * is judged, has each post every undelivered alert to the model's webhook (each change once;
 * failed posts are retried on later runs), so no judgement waits on a slow receiver. One model's
 * failure does not stop the others.
 *
 * @param env - the Worker's bindings
 * @param now - epoch ms of the run
 */
export async function runAlerts(env: Env, now: number): Promise<void> {
  const db = openDb(env);
  // once an hour: drop minute and hour windows, and alerts, past their retention
  if (now % 3_600_000 < 60_000) {
    await pruneAggregates(db, env, now).catch((err) => console.error("pruning aggregates failed", err));
    await pruneAlerts(db, now - alertRetentionDays(env) * 86_400_000).catch((err) => console.error("pruning alerts failed", err));
  }
  const configs = await listAlertConfigs(db);
  // every model judged first, then every model's alerts posted: six slow receivers (a post may take
  // its 10 s timeout) held all six calls at once and no other model was judged meanwhile
  const each = async (step: (config: AlertConfig & { model: string }) => Promise<void>, what: string) => {
    const queue = [...configs];
    const next = async (): Promise<void> => {
      const config = queue.shift();
      if (!config) return;
      await step(config).catch((err) => console.error(`${what} of ${config.model} failed`, err));
      return next();
    };
    await Promise.all(Array.from({ length: EVALUATIONS_AT_ONCE }, next));
  };
  await each((config) => evaluator(env, config.model).evaluate(config, now), "alerts");
  await each((config) => (config.webhook === undefined ? Promise.resolve() : evaluator(env, config.model).deliver(config, now)), "alert delivery");
}
