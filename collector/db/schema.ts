import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, real, index, uniqueIndex, primaryKey } from "drizzle-orm/sqlite-core";

/** An application: the unit that owns models and keys. */
export const apps = sqliteTable("apps", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

/** API keys, stored as SHA-256 hashes of the bearer token; the token itself is shown once. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    app: text("app").notNull(),
    role: text("role", { enum: ["ingest", "read", "admin"] }).notNull(),
    hash: text("hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    label: text("label"),
    /** Ingest keys only: the origins (JSON array) pages may use the key from; null = any origin. */
    origins: text("origins", { mode: "json" }).$type<string[]>(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_app").on(t.app)],
);

/**
 * A model: a name unique within its app, created by its first published version. Every other
 * table refers to a model by `id`, its internal key (collector/registry/model-key.ts): `app/name`,
 * or the bare name for models created before names were scoped by app. Clients never see it.
 */
export const models = sqliteTable(
  "models",
  {
    id: text("id").primaryKey(),
    app: text("app").notNull(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("models_app_name").on(t.app, t.name)],
);

/**
 * Which app uploaded which artifact (after the collector checked the bytes' SHA-256). An app may
 * register a version of, and read, only an artifact it uploaded or one of its versions names.
 */
export const artifactUploads = sqliteTable(
  "artifact_uploads",
  {
    sha256: text("sha256").notNull(),
    app: text("app").notNull(),
    keyId: text("key_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sha256, t.app] })],
);

/**
 * Immutable model versions, numbered 1, 2, 3… per model. `manifest` is the client manifest
 * (JSON, without the reference profile); the full manifest lives in R2 under `manifestKey`. One
 * artifact is one version per reference profile it was published with.
 */
export const versions = sqliteTable(
  "versions",
  {
    model: text("model").notNull(),
    number: integer("number").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    manifest: text("manifest").notNull(),
    manifestKey: text("manifest_key").notNull(),
    profileRows: integer("profile_rows").notNull(),
    publisherKey: text("publisher_key").notNull(),
    publisher: text("publisher").notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * SHA-256 (hex) of the reference profile's canonical JSON: the same bytes profiled again are
     * another version. Null on versions published before it was recorded, until a publish of
     * their bytes reads their profile from R2 and records it.
     */
    profileHash: text("profile_hash"),
  },
  (t) => [primaryKey({ columns: [t.model, t.number] }), uniqueIndex("versions_model_sha256_profile").on(t.model, t.sha256, t.profileHash), index("versions_sha256").on(t.sha256)],
);

/**
 * The rollout state of a model: stable, optional canary with a percent, optional shadow with
 * its sample rate, and the report sample rate. `configVersion` rises on every change; `salt`
 * changes when the canary version does.
 */
export const rollouts = sqliteTable("rollouts", {
  model: text("model").primaryKey(),
  configVersion: integer("config_version").notNull(),
  stable: integer("stable").notNull(),
  canaryVersion: integer("canary_version"),
  canaryPercent: real("canary_percent"),
  shadowVersion: integer("shadow_version"),
  shadowSampleRate: real("shadow_sample_rate"),
  sampleRate: real("sample_rate").notNull(),
  /** Share of rows logged raw by apps that allow it (0: off); docs/privacy.md. */
  logRate: real("log_rate").notNull().default(0),
  /** Days logged rows are kept in R2 (collector/logs/retention.ts). */
  logRetentionDays: integer("log_retention_days").notNull().default(30),
  salt: text("salt").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Rollout states replaced by a change, kept for a day: clients learn of a change late (report
 * answers, polls, offline queues), so reports of what a recent state assigned are still
 * accepted within a grace period (collector/rollout/assignable.ts). `state` is the JSON of the
 * replaced state, salt included; `endedAt` is when the change replaced it.
 */
export const rolloutHistory = sqliteTable(
  "rollout_history",
  {
    model: text("model").notNull(),
    configVersion: integer("config_version").notNull(),
    state: text("state").notNull(),
    endedAt: integer("ended_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.configVersion] })],
);

/**
 * The audit entries that change a model's stable version (collector/rollout/rollback.ts
 * `previousStable` walks them): the predicate of a partial index, which a query uses only when its
 * own condition holds these very terms.
 */
export const CHANGES_STABLE = sql`action <> 'publish' and json_extract(after, '$.stable') is not json_extract(before, '$.stable')`;

/** Every registry change (publish, rollout, promote, rollback): who, when, before and after (JSON). */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    model: text("model").notNull(),
    keyId: text("key_id").notNull(),
    at: integer("at").notNull(),
    action: text("action", { enum: ["publish", "rollout", "promote", "rollback"] }).notNull(),
    before: text("before"),
    after: text("after"),
  },
  (t) => [index("audit_log_model").on(t.model, t.id), index("audit_log_stable_changes").on(t.model, t.id).where(CHANGES_STABLE)],
);

// ---- ingest, aggregation and alerts (docs/ingest.md) ----

/**
 * Window aggregates: one row per (model, window size, window start, version, role, segment,
 * shard) holding every merged sketch of that key (`data`: base64 of the deflated binary form,
 * collector/aggregates/stored-aggregate.ts) plus the counts /metrics reads without decoding. Each row
 * has exactly one writer, the ModelAggregator object of its shard; readers merge shards.
 */
export const aggregates = sqliteTable(
  "aggregates",
  {
    model: text("model").notNull(),
    granularity: text("granularity", { enum: ["minute", "hour", "day"] }).notNull(),
    windowStart: integer("window_start").notNull(),
    version: integer("version").notNull(),
    role: text("role", { enum: ["live", "shadow"] }).notNull(),
    /** Canonical segment: "" (all), one `key:value`, or the full combination. */
    segment: text("segment").notNull(),
    shard: integer("shard").notNull(),
    reports: integer("reports").notNull(),
    rows: integer("rows").notNull(),
    /** Total errors (all codes); the codes are in `data`. */
    errors: integer("errors").notNull(),
    data: text("data").notNull(),
    /**
     * For hour rows: 1 once the row's contents are in its day row, 0 while not yet (the hour
     * is rolled up one hour after it ends; readers of a day add its hour rows still at 0).
     * Always 1 for minute and day rows.
     */
    rolled: integer("rolled").notNull().default(1),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.granularity, t.windowStart, t.version, t.role, t.segment, t.shard] }),
    index("aggregates_unrolled").on(t.model, t.shard, t.windowStart).where(sql`${t.rolled} = 0`),
  ],
);

/**
 * Per aggregator object (`model:shard`): `seq` is the id of the last chunk of its log it
 * stored, written in the same batch as the aggregates, so a flush applies exactly once even if
 * the object dies between writing D1 and clearing its own log. Also the ingest counters.
 */
export const aggregateFlushes = sqliteTable("aggregate_flushes", {
  object: text("object").primaryKey(),
  model: text("model").notNull(),
  seq: integer("seq").notNull(),
  flushes: integer("flushes").notNull(),
  reports: integer("reports").notNull(),
  rowsWritten: integer("rows_written").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /**
   * 1 once the object's reports are in `report_totals`: from its first flush on, or, for an
   * object that stored rows before that table, once it added up its stored rows there
   * (`countTotals` in collector/ingest/model-aggregator.ts).
   */
  totals: integer("totals").notNull().default(0),
});

/**
 * All-time counts per model, version and role, what `/metrics` exposes as counters: each flush
 * adds its reports in the same D1 batch that writes their aggregates, so a counter never reads
 * a roll-up half-way and never goes down. The row of code "" holds the reports, the rows and
 * all errors; the row of an error code holds that code's errors (in `errors`).
 */
export const reportTotals = sqliteTable(
  "report_totals",
  {
    model: text("model").notNull(),
    version: integer("version").notNull(),
    role: text("role", { enum: ["live", "shadow"] }).notNull(),
    code: text("code").notNull(),
    reports: integer("reports").notNull(),
    rows: integer("rows").notNull(),
    errors: integer("errors").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.version, t.role, t.code] })],
);

/**
 * Stored aggregates a flush could not read or merge: set aside with the reason (the window
 * goes on from the reports after it), never deleted by the collector. See docs/ingest.md.
 */
export const quarantine = sqliteTable(
  "quarantine",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    model: text("model").notNull(),
    /** The aggregator object that set it aside, `model:shard`. */
    object: text("object").notNull(),
    /** The row's key, as `granularity|windowStart|version|role|segment`. */
    key: text("key").notNull(),
    reason: text("reason").notNull(),
    data: text("data").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("quarantine_model").on(t.model, t.id)],
);

/**
 * Segment values admitted per model and key (the cardinality cap); other values report as
 * `other`. Each keeps its report count of the current hour (`hits`, epoch = hour number) and of
 * the hour before (`prevHits`): a value seen more often than the least-seen admitted one over
 * the last hour or two displaces it (collector/ingest/segment-cap.ts).
 */
export const segmentValues = sqliteTable(
  "segment_values",
  {
    model: text("model").notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Hour (epoch ms / 3,600,000) that `hits` counts. */
    epoch: integer("epoch").notNull().default(0),
    /** Reports with this value in hour `epoch`. */
    hits: integer("hits").notNull().default(0),
    /** Reports with this value in the hour before `epoch`. */
    prevHits: integer("prev_hits").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.model, t.key, t.value] })],
);

/** Alert thresholds and webhook of a model; a null threshold is not watched. */
export const alertConfigs = sqliteTable("alert_configs", {
  model: text("model").primaryKey(),
  /** Null: alerts are recorded (and the guardrail acts) but posted nowhere. */
  webhook: text("webhook"),
  datasetDrift: real("dataset_drift"),
  /** JSON array of feature names, or ["*"] for every feature; null: not watched. */
  featureDrift: text("feature_drift"),
  errorRate: real("error_rate"),
  latencyP95Ms: real("latency_p95_ms"),
  latencyP99Ms: real("latency_p99_ms"),
  /** Least predictions per second the fleet serves (objective). */
  throughputFleet: real("throughput_fleet"),
  /** Least predictions per second one client sustains (objective). */
  throughputClient: real("throughput_client"),
  /** Days of the error budget of the objectives. */
  sloPeriodDays: integer("slo_period_days").notNull().default(30),
  accuracyDrop: real("accuracy_drop"),
  maeIncrease: real("mae_increase"),
  estimatedAccuracyDrop: real("estimated_accuracy_drop"),
  minLabelled: integer("min_labelled").notNull().default(100),
  windowMinutes: integer("window_minutes").notNull(),
  minRows: integer("min_rows").notNull(),
  autoRollback: integer("auto_rollback", { mode: "boolean" }).notNull(),
  /** An alert fires when its condition held in `confirm_k` of the last `confirm_m` evaluations. */
  confirmK: integer("confirm_k").notNull().default(1),
  confirmM: integer("confirm_m").notNull().default(1),
  updatedAt: integer("updated_at").notNull(),
});

/** The current state of every alert condition (model, version, kind, subject). */
export const alertStates = sqliteTable(
  "alert_states",
  {
    model: text("model").notNull(),
    version: integer("version").notNull(),
    kind: text("kind").notNull(),
    subject: text("subject").notNull(),
    state: text("state", { enum: ["firing", "resolved"] }).notNull(),
    since: integer("since").notNull(),
    /** The last evaluations, oldest first: "1" where the condition held; leading "0"s dropped. */
    recent: text("recent").notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.model, t.version, t.kind, t.subject] })],
);

/** Every alert state change, with its webhook delivery. */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    model: text("model").notNull(),
    version: integer("version").notNull(),
    kind: text("kind").notNull(),
    subject: text("subject").notNull(),
    state: text("state", { enum: ["firing", "resolved"] }).notNull(),
    value: real("value"),
    threshold: real("threshold"),
    windowFrom: integer("window_from").notNull(),
    windowTo: integer("window_to").notNull(),
    message: text("message").notNull(),
    at: integer("at").notNull(),
    deliveredAt: integer("delivered_at"),
    attempts: integer("attempts").notNull(),
    lastError: text("last_error"),
    /** When a cron run claimed the delivery attempt it is posting (epoch ms), null once recorded: no other run posts the alert meanwhile. */
    claimedAt: integer("claimed_at"),
    /** After a failed post: no run tries the alert again before this (epoch ms; alerts/store.ts `retryDelayMs`). */
    retryAt: integer("retry_at"),
  },
  // alerts_condition: a condition's state changes, e.g. the one that started it firing (firingAlerts)
  (t) => [index("alerts_model").on(t.model, t.id), index("alerts_condition").on(t.model, t.version, t.kind, t.subject, t.at)],
);
