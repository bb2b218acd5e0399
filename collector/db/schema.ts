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

/** A model: a name (global) owned by one app. Created by its first published version. */
export const models = sqliteTable(
  "models",
  {
    name: text("name").primaryKey(),
    app: text("app").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("models_app").on(t.app)],
);

/**
 * Immutable model versions, numbered 1, 2, 3… per model. `manifest` is the client manifest
 * (JSON, without the reference profile); the full manifest lives in R2 under `manifestKey`.
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
  },
  (t) => [
    primaryKey({ columns: [t.model, t.number] }),
    uniqueIndex("versions_model_sha256").on(t.model, t.sha256),
    index("versions_sha256").on(t.sha256),
  ],
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
  salt: text("salt").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

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
  (t) => [index("audit_log_model").on(t.model, t.id)],
);

// ---- ingest, aggregation and alerts (docs/ingest.md) ----

/**
 * Window aggregates: one row per (model, window size, window start, version, role, segment,
 * shard) holding every merged sketch of that key (`data`, JSON with base64 sketches; see
 * collector/ingest/aggregate.ts) plus the counts /metrics reads without decoding. Each row
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
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.granularity, t.windowStart, t.version, t.role, t.segment, t.shard] })],
);

/**
 * Per aggregator object (`model:shard`): the last report sequence number flushed to D1,
 * written in the same batch as the aggregates, so a flush applies exactly once even if the
 * object dies between writing D1 and clearing its own pending log. Also the ingest counters.
 */
export const aggregateFlushes = sqliteTable("aggregate_flushes", {
  object: text("object").primaryKey(),
  model: text("model").notNull(),
  seq: integer("seq").notNull(),
  flushes: integer("flushes").notNull(),
  reports: integer("reports").notNull(),
  rowsWritten: integer("rows_written").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Segment values admitted per model and key (the cardinality cap); later ones become `other`. */
export const segmentValues = sqliteTable(
  "segment_values",
  {
    model: text("model").notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.key, t.value] })],
);

/** Alert thresholds and webhook of a model; a null threshold is not watched. */
export const alertConfigs = sqliteTable("alert_configs", {
  model: text("model").primaryKey(),
  webhook: text("webhook").notNull(),
  datasetDrift: real("dataset_drift"),
  /** JSON array of feature names, or ["*"] for every feature; null: not watched. */
  featureDrift: text("feature_drift"),
  errorRate: real("error_rate"),
  latencyP95Ms: real("latency_p95_ms"),
  windowMinutes: integer("window_minutes").notNull(),
  minRows: integer("min_rows").notNull(),
  autoRollback: integer("auto_rollback", { mode: "boolean" }).notNull(),
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
  },
  (t) => [index("alerts_model").on(t.model, t.id)],
);
