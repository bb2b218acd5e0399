// The collector's settings. Every tunable `[vars]` entry of wrangler.toml is read here and
// nowhere else (test/unit/layout.test.ts checks it), each with its default and the values it
// may take ({@link RULES}); a value that is unset or not one of those falls back to the default,
// and {@link settingProblems} names every such value and every misspelt `[vars]` name (counting
// other unknown ones), for `GET /healthz`. The rest of the collector asks these functions, so a new setting goes here,
// into wrangler.toml's `[vars]` and the settings table of the README ("Deploying to
// Cloudflare"). Bindings (DB, ARTIFACTS, AGGREGATOR, ROLLOUT_CHANNEL, the rate limiters) and the
// ADMIN_TOKEN secret are not settings: code uses them where it needs them.

/** A whole-number setting: from `min` to `max` (default: no upper bound), else `fallback`. */
interface WholeRule {
  fallback: number;
  min: number;
  max?: number;
}

/** A word setting: one of `words`, else `fallback`. */
interface WordRule {
  fallback: string;
  words: readonly string[];
}

/** Each `[vars]` setting (wrangler.toml): its default and the values it takes. */
const RULES = {
  MAX_ARTIFACT_BYTES: { fallback: 100 * 1024 * 1024, min: 1 },
  INGEST_SHARDS: { fallback: 1, min: 1, max: 1024 },
  FLUSH_INTERVAL_MS: { fallback: 10_000, min: 1 },
  FLUSH_MAX_REPORTS: { fallback: 20_000, min: 1 },
  FLUSH_MAX_BYTES: { fallback: 32 * 1024 * 1024, min: 1 },
  FLUSH_MAX_KEYS: { fallback: 256, min: 1 },
  SENDER_BUDGET_PER_MINUTE: { fallback: 1_000, min: 1 },
  SENDER_BUDGET_MAX_ROWS: { fallback: 5_000_000, min: 1 },
  DEDUPE_MAX_IDS: { fallback: 10_000_000, min: 1 },
  SEGMENT_MAX_VALUES: { fallback: 50, min: 1 },
  SEGMENT_MAX_KEYS: { fallback: 16, min: 1 },
  SEGMENT_MAX_COMBINATIONS: { fallback: 100, min: 1 },
  ROLLOUT_GRACE_MS: { fallback: 70 * 60_000, min: 0 },
  MINUTE_RETENTION_HOURS: { fallback: 48, min: 1 },
  HOUR_RETENTION_DAYS: { fallback: 90, min: 1 },
  ALERT_RETENTION_DAYS: { fallback: 90, min: 1 },
  LOG_EXPORT_MAX_OBJECTS: { fallback: 9_000, min: 1 },
  PUSH_MAX_PER_KEY: { fallback: 20_000, min: 1 },
  PUSH_MAX_PER_NETWORK: { fallback: 300, min: 1 },
  WEBHOOK_ALLOW_PRIVATE: { fallback: "false", words: ["true", "false"] },
  PUSH_CHANNEL: { fallback: "on", words: ["on", "off"] },
} as const satisfies Record<string, WholeRule | WordRule>;

/** Names of the `[vars]` settings (wrangler.toml). */
type SettingName = keyof typeof RULES;

/** The whole-number settings. */
type WholeName = { [N in SettingName]: (typeof RULES)[N] extends WholeRule ? N : never }[SettingName];

/** The word settings. */
type WordName = Exclude<SettingName, WholeName>;

/** The `[vars]` settings as the Worker's bindings carry them (strings; unset ones fall back to defaults). */
export type Settings = Partial<Record<SettingName, string>>;

/** A whole-number setting's value, or undefined when `text` is not decimal digits of a number in its range. */
function parseWhole(rule: WholeRule, text: string): number | undefined {
  const n = Number(text);
  return /^\s*\d+\s*$/.test(text) && Number.isSafeInteger(n) && n >= rule.min && n <= (rule.max ?? Number.MAX_SAFE_INTEGER) ? n : undefined;
}

/** Whether `text` is a value `rule` takes. */
function valid(rule: WholeRule | WordRule, text: string): boolean {
  return "words" in rule ? rule.words.includes(text) : parseWhole(rule, text) !== undefined;
}

/** A whole-number setting of this deployment, or its default. */
function whole(env: Settings, name: WholeName): number {
  const rule: WholeRule = RULES[name];
  const text = env[name];
  return (text === undefined ? undefined : parseWhole(rule, text)) ?? rule.fallback;
}

/** A word setting of this deployment, or its default. */
function word(env: Settings, name: WordName): string {
  const text = env[name];
  return text !== undefined && valid(RULES[name], text) ? text : RULES[name].fallback;
}

/** Bindings that are strings and not settings. */
const SECRETS = new Set(["ADMIN_TOKEN"]);

/** Edits (letters inserted, deleted or replaced) from `a` to `b` (Levenshtein). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** A name at most this many edits from a setting's is taken for a misspelling of it. */
const MISSPELT_EDITS = 2;

/**
 * What an operator should fix in `[vars]`: each setting whose value is not one it takes (the
 * default applies instead), and each string binding that is no setting (which nothing reads):
 * by name when it is a setting's name misspelt ({@link MISSPELT_EDITS}), else counted only, since
 * `GET /healthz` is public and such a binding may be a secret of the operator's. Empty when every
 * setting is as written.
 *
 * @param env - the Worker's bindings
 * @example
 * settingProblems({ PUSH_CHANNEL: "Off" }) // ['PUSH_CHANNEL = "Off" is not "on" or "off": the default "on" applies']
 */
export function settingProblems(env: object): string[] {
  const problems: string[] = [];
  let unnamed = 0;
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== "string" || SECRETS.has(name)) continue;
    if (!Object.hasOwn(RULES, name)) {
      if (Object.keys(RULES).some((setting) => editDistance(name, setting) <= MISSPELT_EDITS))
        problems.push(`${name} is not a setting: nothing reads it (a misspelt name? settings: README "Deploying to Cloudflare")`);
      else unnamed++;
      continue;
    }
    const rule: WholeRule | WordRule = RULES[name as SettingName];
    if (valid(rule, value)) continue;
    const takes = "words" in rule ? rule.words.map((w) => `"${w}"`).join(" or ") : `a whole number from ${rule.min}${rule.max === undefined ? " up" : ` to ${rule.max}`}`;
    const fallback = typeof rule.fallback === "string" ? `"${rule.fallback}"` : rule.fallback;
    problems.push(`${name} = ${JSON.stringify(value)} is not ${takes}: the default ${fallback} applies`);
  }
  if (unnamed > 0) problems.push(`other string bindings that are no setting: ${unnamed} (nothing reads them; names not shown, as this answer is public)`);
  return problems;
}

/**
 * The artifact size limit of this deployment (`MAX_ARTIFACT_BYTES`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 104857600 (100 MiB)
 */
export const maxArtifactBytes = (env: Settings) => whole(env, "MAX_ARTIFACT_BYTES");

/**
 * Aggregator shards per model (`INGEST_SHARDS`, 1 to 1024): one object takes on the order of a
 * thousand requests a second; more shards spread a model's clients over more objects.
 *
 * @param env - the Worker's bindings
 * @defaultValue 1
 */
export const shardCount = (env: Settings) => whole(env, "INGEST_SHARDS");

/**
 * Milliseconds between flushes (`FLUSH_INTERVAL_MS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 10000
 */
export const flushIntervalMs = (env: Settings) => whole(env, "FLUSH_INTERVAL_MS");

/**
 * Pending reports that trigger a flush at once (`FLUSH_MAX_REPORTS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 20000
 */
export const flushMaxReports = (env: Settings) => whole(env, "FLUSH_MAX_REPORTS");

/**
 * When a pending chunk is flushed at once (`FLUSH_MAX_BYTES`, `FLUSH_MAX_KEYS`): 32 MiB of
 * estimated aggregates, 256 filing-window keys. The object holds at most about two chunks plus
 * one flush's rows (docs/ingest.md "Memory"). At 16 MiB the 15 segment keys of one hour of a
 * 220-feature model (~1.1 MB each) already filled a chunk: it flushed every ~150 reports.
 *
 * @param env - the Worker's bindings
 */
export const chunkLimits = (env: Settings) => ({ bytes: whole(env, "FLUSH_MAX_BYTES"), keys: whole(env, "FLUSH_MAX_KEYS") });

/** A minute counts as closed this long after the flush interval has passed too. */
export const CLOSE_GRACE_MS = 15_000;

/** An hour row is rolled into its day row this long after the hour starts: an hour after it ends. */
export const HOUR_ROLLS_AFTER_MS = 2 * 3_600_000;

/**
 * What one sender may weigh in a filing window, per minute the window spans
 * (`SENDER_BUDGET_PER_MINUTE`): 1,000 values a minute, 60,000 an hour, 1.44 M a day, in each
 * aggregator shard. A client reporting every 30 s sends tens of rows a minute; a network of a
 * hundred busy clients behind one address may reach it.
 *
 * @param env - the Worker's bindings
 * @defaultValue 1000
 */
export const senderBudgetPerMinute = (env: Settings) => whole(env, "SENDER_BUDGET_PER_MINUTE");

/**
 * The most sender budgets (one per filing window and sender) an aggregator shard keeps in each
 * of its two budget tables (`SENDER_BUDGET_MAX_ROWS`; collector/ingest/sender-budget.ts): ~112 B
 * each, so at most ~1.1 GB of a Durable Object's 10 GB. 5 M last the 3 days a budget is kept
 * at ~1,100 networks reporting every minute a shard; past that the oldest go first.
 *
 * @param env - the Worker's bindings
 * @defaultValue 5000000
 */
export const senderBudgetMaxRows = (env: Settings) => whole(env, "SENDER_BUDGET_MAX_ROWS");

/**
 * The most report ids an aggregator shard keeps to deduplicate (`DEDUPE_MAX_IDS`), each for
 * 7 days, or 35 for a carrier (collector/ingest/seen-ids.ts): at most ~1.8 GB of a Durable
 * Object's 10 GB (181 B an id at the longest, 64 characters). 10 M ids last the 7 days at
 * ~16 reports a second a shard (~500 pages reporting every 30 s); past that the oldest go first.
 *
 * @param env - the Worker's bindings
 * @defaultValue 10000000
 */
export const dedupeMaxIds = (env: Settings) => whole(env, "DEDUPE_MAX_IDS");

/**
 * Log objects one export reads (`LOG_EXPORT_MAX_OBJECTS`): each is one R2 read, and a Worker on
 * Workers Paid makes at most 10,000 subrequests an invocation unless wrangler.toml's
 * `[limits] subrequests` allows more; 9,000 leaves room for the listing.
 *
 * @param env - the Worker's bindings
 * @defaultValue 9000
 */
export const logExportMaxObjects = (env: Settings) => whole(env, "LOG_EXPORT_MAX_OBJECTS");

/** The name of the log export's object cap, for messages that tell the operator what to raise. */
export const LOG_EXPORT_CAP_SETTING: SettingName = "LOG_EXPORT_MAX_OBJECTS";

/** Distinct values admitted per segment key and model (`SEGMENT_MAX_VALUES`). */
export const DEFAULT_SEGMENT_MAX_VALUES = RULES.SEGMENT_MAX_VALUES.fallback;

/** Distinct segment keys admitted per model (`SEGMENT_MAX_KEYS`). */
export const DEFAULT_SEGMENT_MAX_KEYS = RULES.SEGMENT_MAX_KEYS.fallback;

/**
 * The segment cardinality cap of this deployment (`SEGMENT_MAX_VALUES`, `SEGMENT_MAX_KEYS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 50 values, 16 keys
 */
export const segmentLimits = (env: Settings) => ({ values: whole(env, "SEGMENT_MAX_VALUES"), keys: whole(env, "SEGMENT_MAX_KEYS") });

/** Full segment combinations kept per model, aggregator object and window (`SEGMENT_MAX_COMBINATIONS`). */
export const DEFAULT_MAX_COMBINATIONS = RULES.SEGMENT_MAX_COMBINATIONS.fallback;

/**
 * The combination cap of this deployment (`SEGMENT_MAX_COMBINATIONS`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 100
 */
export const maxCombinations = (env: Settings) => whole(env, "SEGMENT_MAX_COMBINATIONS");

/**
 * How long after a rollout change reports of what the replaced state assigned are still
 * accepted (`ROLLOUT_GRACE_MS`). A client learns of a change with its next report answer
 * (~30 s) or idle poll (5 min) and keeps running, sketching and queueing the old assignment
 * until then; an offline client queues its reports for up to an hour before it can send them.
 * 30 s + 5 min + 1 h, rounded up: 70 minutes.
 */
export const DEFAULT_ROLLOUT_GRACE_MS = RULES.ROLLOUT_GRACE_MS.fallback;

/**
 * The grace period of this deployment (`ROLLOUT_GRACE_MS`, a whole number of milliseconds ≥ 0).
 *
 * @param env - the Worker's bindings
 * @defaultValue 4200000
 */
export const rolloutGraceMs = (env: Settings) => whole(env, "ROLLOUT_GRACE_MS");

/**
 * How long minute rows are kept (`MINUTE_RETENTION_HOURS`) and hour rows
 * (`HOUR_RETENTION_DAYS`); day rows are kept for ever.
 *
 * @param env - the Worker's bindings
 * @defaultValue 48 hours, 90 days
 */
export const retentionSettings = (env: Settings) => ({ minuteHours: whole(env, "MINUTE_RETENTION_HOURS"), hourDays: whole(env, "HOUR_RETENTION_DAYS") });

/**
 * How long alerts (state changes) are kept (`ALERT_RETENTION_DAYS`), a firing condition's own
 * alert excepted.
 *
 * @param env - the Worker's bindings
 * @defaultValue 90 days
 */
export const alertRetentionDays = (env: Settings) => whole(env, "ALERT_RETENTION_DAYS");

/**
 * Whether this deployment accepts private and loopback webhooks (`WEBHOOK_ALLOW_PRIVATE = "true"`).
 *
 * @param env - the Worker's bindings
 * @defaultValue false
 */
export const allowPrivateWebhooks = (env: Settings) => word(env, "WEBHOOK_ALLOW_PRIVATE") === "true";

/** What a refusal of a webhook host that is not public adds: how a receiver on the developer's machine is allowed. */
export const PRIVATE_RECEIVER = ' (a receiver on your own machine: WEBHOOK_ALLOW_PRIVATE=true in the .dev.vars of a local collector, never a deployed one; docs/security.md "Webhooks")';

/**
 * Whether the rollout channel is open (`PUSH_CHANNEL`; `"off"` closes it: subscriptions are
 * refused with 404 and clients fall back to report hints and polls, docs/registry.md).
 *
 * @param env - the Worker's bindings
 * @defaultValue on
 */
export const pushEnabled = (env: Settings) => word(env, "PUSH_CHANNEL") === "on";

/**
 * Open subscriptions to one model's rollout channel per ingest key (`PUSH_MAX_PER_KEY`) and per
 * client network (`PUSH_MAX_PER_NETWORK`). The key's bound keeps one object's sockets well under
 * what a Durable Object holds; the network's matches the ~300 pages behind one address that the
 * address rate limit allows (wrangler.toml `[[ratelimits]]`).
 *
 * @param env - the Worker's bindings
 * @defaultValue 20000 per key, 300 per network
 */
export const pushLimits = (env: Settings) => ({ perKey: whole(env, "PUSH_MAX_PER_KEY"), perNetwork: whole(env, "PUSH_MAX_PER_NETWORK") });
