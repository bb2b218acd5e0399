/**
 * Shapes of the collector's JSON answers, as zod schemas and the TypeScript types inferred from
 * them: the contract the CLI and the dashboard read, the collector's routes are checked against
 * (`satisfies`) and its OpenAPI document describes (collector/openapi.ts). Answers are not
 * validated at run time; a worker test checks real answers against the document.
 * Documented in docs/registry.md, docs/ingest.md and docs/drift.md.
 */
import { z } from "zod";

import { baselinePerformanceSchema } from "./schema/profile.ts";

/** A model's rollout: stable, optional canary with a percent, optional shadow. */
export const rolloutViewSchema = z.object({
  /** Rises by one on every change; clients compare it to know whether to refetch. */
  configVersion: z.number(),
  stable: z.number(),
  canary: z.object({ version: z.number(), percent: z.number() }).nullable(),
  shadow: z.object({ version: z.number(), sampleRate: z.number() }).nullable(),
  /** Fraction of rows clients sketch and report. */
  sampleRate: z.number(),
  /** Fraction of rows clients whose app allows it log raw (docs/privacy.md); absent: 0, off. */
  logRate: z.number().optional(),
  /** Days logged rows are kept; absent: 30. */
  logRetentionDays: z.number().optional(),
  /** Time of the last change, ISO 8601. */
  updatedAt: z.string(),
});
export type RolloutView = z.infer<typeof rolloutViewSchema>;

/** One entry of `GET /v1/models`. */
export const modelSummarySchema = z.object({
  name: z.string(),
  app: z.string(),
  createdAt: z.string(),
  latestVersion: z.number().nullable(),
  rollout: rolloutViewSchema.nullable(),
  /** Rows and errors (all codes) the live versions of the rollout (stable, canary) reported over the last hour, all traffic. */
  lastHour: z.object({ rows: z.number(), errors: z.number() }),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

/** A schema of an answer below (zod's), for a client to check what it was answered. */
export type AnswerSchema<T> = z.ZodType<T>;

/** `GET /v1/models`. */
export const modelListSchema = z.object({ models: z.array(modelSummarySchema) });

/** A published version, without manifest. */
export const versionViewSchema = z.object({
  model: z.string(),
  version: z.number(),
  sha256: z.string(),
  size: z.number(),
  /** Rows of the reference profile. */
  profileRows: z.number(),
  publisher: z.string().nullable(),
  publisherKey: z.string(),
  createdAt: z.string(),
});
export type VersionView = z.infer<typeof versionViewSchema>;

/** An audit-log row: one rollout change or publish. */
export const auditEntrySchema = z.object({
  id: z.number(),
  model: z.string(),
  keyId: z.string(),
  at: z.string(),
  action: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /v1/models/:model`. */
export const modelDetailSchema = z.object({
  name: z.string(),
  app: z.string(),
  createdAt: z.string(),
  rollout: rolloutViewSchema.nullable(),
  /**
   * The stable version `POST /rollback` would leave every client on (the current stable while a
   * canary runs); null when there is nothing to roll back.
   */
  rollbackTo: z.number().nullable(),
  versions: z.array(versionViewSchema),
  audit: z.array(auditEntrySchema),
});
export type ModelDetail = z.infer<typeof modelDetailSchema>;

/** The drift tests the collector chooses from. */
export const driftTestSchema = z.enum(["ks", "chi2", "psi", "js", "wasserstein"]);
export type DriftTest = z.infer<typeof driftTestSchema>;

/** Metrics of one feature; null where a metric does not apply or there is no data. */
export const driftMetricsSchema = z.object({
  ks: z.number().nullable(),
  ks_pvalue: z.number().nullable(),
  psi: z.number().nullable(),
  js: z.number().nullable(),
  wasserstein_normed: z.number().nullable(),
  chi2_pvalue: z.number().nullable().optional(),
  unseen_share: z.number().nullable().optional(),
});
export type DriftMetrics = z.infer<typeof driftMetricsSchema>;

/** Reference and current shares over the metric bins (`detail=bins`). */
export const binsSchema = z.object({
  /** Inner edges of a numeric feature's reference bins (outer bins open). */
  edges: z.array(z.number()).optional(),
  /** Categories (the last one `other` for a categorical feature) or classes. */
  labels: z.array(z.string()).optional(),
  reference: z.array(z.number()),
  current: z.array(z.number()),
});
export type Bins = z.infer<typeof binsSchema>;

/** Drift of one feature or the prediction. */
export const featureDriftSchema = z.object({
  kind: z.enum(["numeric", "categorical", "classification", "regression"]),
  /** Values compared on the current side (missing ones left out). */
  count: z.number(),
  test: driftTestSchema,
  /**
   * What `value` is compared with: a p-value drifts below it, a distance at or above it. Fixed
   * (Evidently's default, or the manifest's rule), or with calibrated verdicts set by the
   * profile's calibration for this window's `count`.
   */
  threshold: z.number(),
  drifted: z.boolean(),
  /**
   * The test's value the verdict was taken on: its metric with `sender_share` of the current
   * values trimmed off (equal to the metric when that share is 0; null without a verdict); under
   * the Benjamini–Hochberg correction, a p-value test's `p_adjusted`.
   */
  value: z.number().nullable(),
  /**
   * The largest share of the current values one sender (client network) may have given; the
   * verdict does not count it (docs/security.md, "One sender cannot steer a verdict").
   */
  sender_share: z.number(),
  /**
   * The p-value of the feature's test when it is KS or chi-squared, else of KS (numeric) or
   * chi-squared (categories, classes); taken like `value`. Null without data or a p-value.
   */
  p_value: z.number().nullable(),
  /**
   * `p_value` adjusted across the window's features (Benjamini–Hochberg); the prediction is a
   * family of its own, so its `p_adjusted` equals its `p_value`.
   */
  p_adjusted: z.number().nullable(),
  metrics: driftMetricsSchema,
  bins: binsSchema.optional(),
});
export type FeatureDrift = z.infer<typeof featureDriftSchema>;

/** `GET /v1/drift`. */
/** Embedding drift of a window (protocol/drift/embedding.ts). */
export const embeddingDriftSchema = z.object({
  /** Embeddings in the window. */
  count: z.number(),
  /** Components whose mean moved (Welch's test, p < 0.05), of all, their share, and whether it reaches 0.2. */
  components: z.object({ drifted: z.number(), of: z.number(), share: z.number(), verdict: z.boolean() }),
  /** ‖mean(window) − mean(reference)‖ / √(trace of the reference's covariance), against 0.2. */
  distance: z.object({ value: z.number(), threshold: z.number(), verdict: z.boolean() }),
  /** Unbiased MMD² of an RBF kernel without the heaviest sender's share (a lower bound, wherever its embeddings lie), against 3 null spreads for the size of the rest of the window. */
  mmd: z.object({ value: z.number(), threshold: z.number(), verdict: z.boolean() }),
  /** Share of the window's embeddings the heaviest sender may have given; past one half no verdict holds. */
  sender_share: z.number(),
  /** The MMD verdict (false when one sender may have given most of the window). */
  drifted: z.boolean(),
});
export type EmbeddingDrift = z.infer<typeof embeddingDriftSchema>;

export const driftAnswerSchema = z.object({
  model: z.string(),
  version: z.number(),
  from: z.string(),
  to: z.string(),
  count: z.number(),
  features: z.record(z.string(), featureDriftSchema),
  prediction: featureDriftSchema.nullable(),
  /**
   * Drift of a classifier's output entropy (normalised to 0–1: how unsure the model is), judged
   * as a numeric feature; null unless the reference and the window both sketched it.
   */
  entropy: featureDriftSchema.nullable(),
  /** The share of drifted features among those judged (values in the window, `sender_share` below 1), and whether it reaches the threshold. */
  dataset: z.object({ drifted_share: z.number(), drifted: z.boolean() }),
  /** Drift of the model's embedding, when its manifest has one and the window holds 2 or more. */
  embedding: embeddingDriftSchema.nullable(),
  /** Stored window rows left out because they could not be read (they are quarantined at the next flush). */
  skipped: z.number(),
});
export type DriftAnswer = z.infer<typeof driftAnswerSchema>;

/** Latest time a query may name: the end of year 9999, so rounded ranges stay valid dates. */
const MAX_QUERY_TIME = Date.UTC(9999, 11, 31);

/**
 * A query's `from` or `to` as epoch milliseconds: the text is epoch milliseconds or an ISO 8601
 * date-time, from 1970 to 9999; undefined for anything else. The collector reads its query
 * parameters with it, and the CLI its `--from` and `--to`.
 *
 * @param text - the parameter's text
 * @example
 * queryTime("2026-12-01T00:00:00Z") // 1796083200000
 */
export function queryTime(text: string): number | undefined {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  return ms >= 0 && ms <= MAX_QUERY_TIME ? ms : undefined;
}

/**
 * Most windows one `GET /v1/drift/series` or `/v1/stats/series` reads: each window is two D1
 * queries (more past 16 MB of stored rows), and a Worker makes at most 1,000 a request on the Paid
 * plan, 50 on Free (the dashboard asks for 6 windows a request).
 */
export const SERIES_WINDOWS = 40;

/** Drift of one version in each window of a series, oldest first: each window as `GET /v1/drift` answers it. */
export const driftSeriesAnswerSchema = z.object({
  model: z.string(),
  version: z.number(),
  windows: z.array(driftAnswerSchema.omit({ model: true, version: true })),
});
export type DriftSeriesAnswer = z.infer<typeof driftSeriesAnswerSchema>;
export type DriftWindow = DriftSeriesAnswer["windows"][number];

/** Latency quantiles of one backend, in milliseconds. */
export const latencyQuantilesSchema = z.object({ count: z.number(), p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number() });
export type LatencyQuantiles = z.infer<typeof latencyQuantilesSchema>;

/** Per class, a rate or null where it is undefined (protocol/performance.ts). */
const perClassSchema = z.record(z.string(), z.number().nullable());

/** Model quality from labels joined on the devices (`feedback()`): protocol/performance.ts for a classifier. */
export const performanceSchema = z.union([
  z.object({ labelled: z.number(), accuracy: z.number(), precision: perClassSchema, recall: perClassSchema, f1: perClassSchema }),
  z.object({ labelled: z.number(), residual_mean: z.number(), residual_p05: z.number(), residual_p50: z.number(), residual_p95: z.number(), mae: z.number(), rmse: z.number() }),
]);
export type Performance = z.infer<typeof performanceSchema>;

/** A range [lower, upper]. */
const bandSchema = z.tuple([z.number(), z.number()]);

/**
 * A classifier's performance estimated without labels (protocol/performance-estimate.ts), with
 * the band within which realised performance is expected (±3 standard deviations of the
 * estimate's error over reference chunks, scaled to the window's rows).
 */
export const estimatedPerformanceSchema = z.object({
  rows: z.number(),
  accuracy: z.number(),
  precision: perClassSchema,
  recall: perClassSchema,
  f1: perClassSchema,
  roc_auc: z.number().optional(),
  log_loss: z.number().optional(),
  band: z.object({ accuracy: bandSchema, f1: z.record(z.string(), bandSchema.nullable()) }),
});
export type EstimatedPerformance = z.infer<typeof estimatedPerformanceSchema>;

/** `GET /v1/stats`. */
/** One objective of `GET /v1/stats`' `slo`: its target against what was measured over the range, and the error budget left over the period. */
export const sloObjectiveSchema = z.object({
  /** `latency_p95`, `latency_p99`, `error_rate`, `throughput_fleet` or `throughput_client`. */
  kind: z.string(),
  /** `backend:NAME` or `device:CLASS` for latency objectives, else null. */
  subject: z.string().nullable(),
  target: z.number(),
  /** Measured over the query's range (null: no data there). */
  value: z.number().nullable(),
  met: z.boolean().nullable(),
  /**
   * Met as the alerts judge it: over the same range with the heaviest sender of the slice left out
   * (docs/security.md). Null when no data is left without it. Where `met` is false and this is not,
   * one sender's calls alone breach the objective, and no alert fires for them.
   */
  judged_met: z.boolean().nullable(),
  /** 1 − bad share / allowed share over the period; below 0 when overspent; null for throughput or without data. */
  budget_left: z.number().nullable(),
});
export type SloObjective = z.infer<typeof sloObjectiveSchema>;

export const statsAnswerSchema = z.object({
  /** Stored window rows left out because they could not be read. */
  skipped: z.number(),
  model: z.string(),
  version: z.number(),
  role: z.enum(["live", "shadow"]),
  segment: z.string(),
  from: z.string(),
  to: z.string(),
  reports: z.number(),
  rows: z.number(),
  errors: z.record(z.string(), z.number()),
  error_rate: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  latency: z.record(z.string(), latencyQuantilesSchema),
  performance: performanceSchema.nullable(),
  /** A classifier's performance estimated without labels, when its profile has what it needs (`driftline profile --target`). */
  estimated: estimatedPerformanceSchema.nullable(),
  /** The model's quality on its reference data (`driftline profile --target`), to compare `performance` with. */
  baseline: baselinePerformanceSchema.nullable(),
  /** Agreement per shadow version. */
  shadow: z.record(
    z.string(),
    z.object({
      rows: z.number(),
      agree: z.number(),
      agreement: z.number().nullable(),
      /** Where the agreement lies without the sender of the most shadow rows (docs/security.md); null when that sender may have sent them all. */
      agreement_range: z.tuple([z.number(), z.number()]).nullable(),
    }),
  ),
  /** The model's objectives (its alert configuration) against this range, and their error budget over the period; null when none are set or the query is sliced. */
  slo: z.object({ period: z.object({ from: z.string(), to: z.string(), days: z.number() }), objectives: z.array(sloObjectiveSchema) }).nullable(),
});
export type StatsAnswer = z.infer<typeof statsAnswerSchema>;

/**
 * Traffic, errors, latency and performance of one version in each window of a series, oldest
 * first: each window's figures as `GET /v1/stats` over it answers them (shadow agreement and
 * objectives are the range's: `GET /v1/stats`).
 */
export const statsSeriesAnswerSchema = statsAnswerSchema.pick({ model: true, version: true, role: true, segment: true, baseline: true }).extend({
  windows: z.array(
    statsAnswerSchema.pick({ from: true, to: true, reports: true, rows: true, errors: true, error_rate: true, latency_p95_ms: true, latency: true, performance: true, estimated: true, skipped: true }),
  ),
});
export type StatsSeriesAnswer = z.infer<typeof statsSeriesAnswerSchema>;
export type StatsWindow = StatsSeriesAnswer["windows"][number];

/** One alert state change of `GET /v1/alerts`. */
export const alertSchema = z.object({
  id: z.number(),
  /** The model's app: names are unique per app, so the bootstrap key may see two apps' alerts of one name. */
  app: z.string(),
  model: z.string(),
  version: z.number(),
  kind: z.string(),
  subject: z.string().nullable(),
  state: z.enum(["firing", "resolved"]),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  /** The trailing window the evaluation judged. */
  window: z.object({ from: z.string(), to: z.string() }),
  message: z.string(),
  at: z.string(),
  /** When the webhook took it (2xx); null until then. */
  deliveredAt: z.string().nullable(),
  /** Posts tried so far (at most 30, 1, 2, 4 … 32 minutes and then an hour apart). */
  attempts: z.number(),
  /** Why the last post failed; null when none failed or it was delivered. */
  lastError: z.string().nullable(),
  /** When the next post is tried after a failed one; null when delivered, not tried yet, or out of tries. */
  retryAt: z.string().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;

/** `GET /v1/alerts`: newest first. */
export const alertListSchema = z.object({ alerts: z.array(alertSchema) });

/** An API key as listed (never the token). */
export const keyViewSchema = z.object({
  id: z.string(),
  app: z.string(),
  role: z.enum(["ingest", "read", "admin"]),
  /** The token's first characters, to recognise it. */
  prefix: z.string(),
  label: z.string().nullable(),
  /** Ingest keys: the only origins whose pages may use the key; null = any origin. */
  origins: z.array(z.string()).nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type KeyView = z.infer<typeof keyViewSchema>;

/** `POST /v1/keys`: the key and its token, shown once. */
export const keyCreatedSchema = keyViewSchema.extend({ token: z.string() });

/** `GET /v1/keys`. */
export const keyListSchema = z.object({ keys: z.array(keyViewSchema) });

/** `GET /v1/segments`: the admitted values of each segment key. */
export const segmentsAnswerSchema = z.object({ model: z.string(), segments: z.record(z.string(), z.array(z.string())) });

/** `DELETE /v1/segments`: what was forgotten. */
export const segmentsResetSchema = z.object({ model: z.string(), key: z.string().nullable(), deleted: z.number() });

/** `PUT /v1/models/:model/rollout` and `POST …/rollback`. */
export const rolloutAnswerSchema = z.object({
  changed: z.boolean(),
  action: z.string().nullable(),
  rollout: rolloutViewSchema,
});
export type RolloutAnswer = z.infer<typeof rolloutAnswerSchema>;

/** `POST /v1/logs`: what a batch wrote (rows and labels, once however often it is sent). */
export const logWriteAnswerSchema = z.object({ rows: z.number(), labels: z.number() });
export type LogWriteAnswer = z.infer<typeof logWriteAnswerSchema>;
