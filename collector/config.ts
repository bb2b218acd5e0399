// The collector's settings. Every tunable `[vars]` entry of wrangler.toml is read here and
// nowhere else (test/unit/layout.test.ts checks it), each with its default; a value that is
// unset or out of range falls back to the default. The rest of the collector asks these
// functions, so a new setting goes here, into wrangler.toml's `[vars]` and the settings table
// of the README ("Deploying to Cloudflare"). Bindings (DB, ARTIFACTS, AGGREGATOR,
// ROLLOUT_CHANNEL, the rate limiters) and the ADMIN_TOKEN secret are not settings: code uses
// them where it needs them.

/** Names of the `[vars]` settings (wrangler.toml). */
type SettingName =
  | "MAX_ARTIFACT_BYTES"
  | "INGEST_SHARDS"
  | "FLUSH_INTERVAL_MS"
  | "FLUSH_MAX_REPORTS"
  | "FLUSH_MAX_BYTES"
  | "FLUSH_MAX_KEYS"
  | "SENDER_BUDGET_PER_MINUTE"
  | "SEGMENT_MAX_VALUES"
  | "SEGMENT_MAX_KEYS"
  | "SEGMENT_MAX_COMBINATIONS"
  | "ROLLOUT_GRACE_MS"
  | "MINUTE_RETENTION_HOURS"
  | "HOUR_RETENTION_DAYS"
  | "WEBHOOK_ALLOW_PRIVATE"
  | "PUSH_CHANNEL"
  | "PUSH_MAX_PER_KEY"
  | "PUSH_MAX_PER_NETWORK"
  | "LOG_EXPORT_MAX_OBJECTS";

/** The `[vars]` settings as the Worker's bindings carry them (strings; unset ones fall back to defaults). */
export type Settings = Partial<Record<SettingName, string>>;

/** A whole number above zero, or `fallback`. */
function positiveInt(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Artifact size limit when `MAX_ARTIFACT_BYTES` is unset or not a positive integer: 100 MiB. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 100 * 1024 * 1024;

/**
 * The artifact size limit of this deployment (`MAX_ARTIFACT_BYTES`).
 *
 * @param env - the Worker's bindings
 */
export function maxArtifactBytes(env: Settings): number {
  const limit = Number(env.MAX_ARTIFACT_BYTES);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_MAX_ARTIFACT_BYTES;
}

/**
 * Aggregator shards per model (`INGEST_SHARDS`, 1 to 1024): one object takes on the order of a
 * thousand requests a second; more shards spread a model's clients over more objects.
 *
 * @param env - the Worker's bindings
 * @defaultValue 1
 */
export function shardCount(env: Settings): number {
  const n = Number(env.INGEST_SHARDS);
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? n : 1;
}

/**
 * Milliseconds between flushes (`FLUSH_INTERVAL_MS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 10000
 */
export const flushIntervalMs = (env: Settings) => positiveInt(env.FLUSH_INTERVAL_MS, 10_000);

/**
 * Pending reports that trigger a flush at once (`FLUSH_MAX_REPORTS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 20000
 */
export const flushMaxReports = (env: Settings) => positiveInt(env.FLUSH_MAX_REPORTS, 20_000);

/**
 * When a pending chunk is flushed at once (`FLUSH_MAX_BYTES`, `FLUSH_MAX_KEYS`): 32 MiB of
 * estimated aggregates, 256 filing-window keys. The object holds at most about two chunks plus
 * one flush's rows (docs/ingest.md "Memory"). At 16 MiB the 15 segment keys of one hour of a
 * 220-feature model (~1.1 MB each) already filled a chunk: it flushed every ~150 reports.
 *
 * @param env - the Worker's bindings
 */
export const chunkLimits = (env: Settings) => ({
  bytes: positiveInt(env.FLUSH_MAX_BYTES, 32 * 1024 * 1024),
  keys: positiveInt(env.FLUSH_MAX_KEYS, 256),
});

/** A minute counts as closed this long after the flush interval has passed too. */
export const CLOSE_GRACE_MS = 15_000;

/** An hour row is rolled into its day row this long after the hour starts: an hour after it ends. */
export const HOUR_ROLLS_AFTER_MS = 2 * 3_600_000;

/**
 * What one sender may weigh in a filing window, per minute the window spans
 * (`SENDER_BUDGET_PER_MINUTE`): 1,000 values a minute, 60,000 an hour, 1.44 M a day, in each
 * aggregator shard. A client reporting every 30 s sends tens of rows a minute; a network of a
 * hundred busy clients behind one address may reach it.
 */
export const DEFAULT_SENDER_BUDGET_PER_MINUTE = 1_000;

/**
 * The sender budget of this deployment (`SENDER_BUDGET_PER_MINUTE`).
 *
 * @param env - the Worker's bindings
 */
export const senderBudgetPerMinute = (env: Settings) => positiveInt(env.SENDER_BUDGET_PER_MINUTE, DEFAULT_SENDER_BUDGET_PER_MINUTE);

/**
 * Log objects one export reads (`LOG_EXPORT_MAX_OBJECTS`): each is one R2 read, and a Worker on
 * Workers Paid makes at most 10,000 subrequests an invocation unless wrangler.toml's
 * `[limits] subrequests` allows more; 9,000 leaves room for the listing.
 */
export const DEFAULT_LOG_EXPORT_MAX_OBJECTS = 9_000;

/**
 * The log export's object cap of this deployment (`LOG_EXPORT_MAX_OBJECTS`).
 *
 * @param env - the Worker's bindings
 */
export const logExportMaxObjects = (env: Settings) => positiveInt(env.LOG_EXPORT_MAX_OBJECTS, DEFAULT_LOG_EXPORT_MAX_OBJECTS);

/** Distinct values admitted per segment key and model (`SEGMENT_MAX_VALUES`). */
export const DEFAULT_SEGMENT_MAX_VALUES = 50;

/** Distinct segment keys admitted per model (`SEGMENT_MAX_KEYS`). */
export const DEFAULT_SEGMENT_MAX_KEYS = 16;

/**
 * The segment cardinality cap of this deployment (`SEGMENT_MAX_VALUES`, `SEGMENT_MAX_KEYS`).
 *
 * @param env - the Worker's bindings
 */
export const segmentLimits = (env: Settings) => ({
  values: positiveInt(env.SEGMENT_MAX_VALUES, DEFAULT_SEGMENT_MAX_VALUES),
  keys: positiveInt(env.SEGMENT_MAX_KEYS, DEFAULT_SEGMENT_MAX_KEYS),
});

/**
 * Full segment combinations kept per model, aggregator object and window (`SEGMENT_MAX_COMBINATIONS`).
 * @defaultValue 100
 */
export const DEFAULT_MAX_COMBINATIONS = 100;

/**
 * The combination cap of this deployment (`SEGMENT_MAX_COMBINATIONS`).
 *
 * @param env - the Worker's bindings
 */
export const maxCombinations = (env: Settings) => positiveInt(env.SEGMENT_MAX_COMBINATIONS, DEFAULT_MAX_COMBINATIONS);

/**
 * How long after a rollout change reports of what the replaced state assigned are still
 * accepted (`ROLLOUT_GRACE_MS`). A client learns of a change with its next report answer
 * (~30 s) or idle poll (5 min) and keeps running, sketching and queueing the old assignment
 * until then; an offline client queues its reports for up to an hour before it can send them.
 * 30 s + 5 min + 1 h, rounded up: 70 minutes.
 *
 * @defaultValue 4200000
 */
export const DEFAULT_ROLLOUT_GRACE_MS = 70 * 60_000;

/**
 * The grace period of this deployment (`ROLLOUT_GRACE_MS`, a whole number of milliseconds ≥ 0).
 *
 * @param env - the Worker's bindings
 */
export function rolloutGraceMs(env: Settings): number {
  const text = env.ROLLOUT_GRACE_MS?.trim();
  const n = Number(text);
  return text && Number.isInteger(n) && n >= 0 ? n : DEFAULT_ROLLOUT_GRACE_MS;
}

/**
 * How long minute rows are kept (`MINUTE_RETENTION_HOURS`) and hour rows
 * (`HOUR_RETENTION_DAYS`); day rows are kept for ever.
 *
 * @param env - the Worker's bindings
 * @defaultValue 48 hours, 90 days
 */
export const retentionSettings = (env: Settings) => ({
  minuteHours: positiveInt(env.MINUTE_RETENTION_HOURS, 48),
  hourDays: positiveInt(env.HOUR_RETENTION_DAYS, 90),
});

/**
 * Whether this deployment accepts private and loopback webhooks (`WEBHOOK_ALLOW_PRIVATE = "true"`;
 * unset or anything else: no).
 *
 * @param env - the Worker's bindings
 */
export function allowPrivateWebhooks(env: Settings): boolean {
  return env.WEBHOOK_ALLOW_PRIVATE === "true";
}

/**
 * Whether the rollout channel is open (`PUSH_CHANNEL`; `"off"` closes it: subscriptions are
 * refused with 404 and clients fall back to report hints and polls, docs/registry.md).
 *
 * @param env - the Worker's bindings
 * @defaultValue on
 */
export function pushEnabled(env: Settings): boolean {
  return env.PUSH_CHANNEL !== "off";
}

/**
 * Open subscriptions to one model's rollout channel per ingest key (`PUSH_MAX_PER_KEY`) and per
 * client network (`PUSH_MAX_PER_NETWORK`). The key's bound keeps one object's sockets well under
 * what a Durable Object holds; the network's matches the ~300 pages behind one address that the
 * address rate limit allows (wrangler.toml `[[ratelimits]]`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 20000 per key, 300 per network
 */
export const pushLimits = (env: Settings) => ({
  perKey: positiveInt(env.PUSH_MAX_PER_KEY, 20_000),
  perNetwork: positiveInt(env.PUSH_MAX_PER_NETWORK, 300),
});
