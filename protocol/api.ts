/**
 * Shapes of the collector's JSON answers, as TypeScript types: the contract the CLI and the
 * dashboard read and the collector's routes are checked against (`satisfies`). Requests are
 * validated with zod in the collector; answers need no runtime validation, only one definition.
 * Documented in docs/registry.md, docs/ingest.md and docs/drift.md.
 */

/** A model's rollout: stable, optional canary with a percent, optional shadow. */
export interface RolloutView {
  /** Rises by one on every change; clients compare it to know whether to refetch. */
  configVersion: number;
  stable: number;
  canary: { version: number; percent: number } | null;
  shadow: { version: number; sampleRate: number } | null;
  /** Fraction of rows clients sketch and report. */
  sampleRate: number;
  /** Time of the last change, ISO 8601. */
  updatedAt: string;
}

/** One entry of `GET /v1/models`. */
export interface ModelSummary {
  name: string;
  app: string;
  createdAt: string;
  latestVersion: number | null;
  rollout: RolloutView | null;
}

/** A published version, without manifest. */
export interface VersionView {
  model: string;
  version: number;
  sha256: string;
  size: number;
  /** Rows of the reference profile. */
  profileRows: number;
  publisher: string | null;
  publisherKey: string;
  createdAt: string;
}

/** An audit-log row: one rollout change or publish. */
export interface AuditEntry {
  id: number;
  model: string;
  keyId: string;
  at: string;
  action: string;
  before: unknown;
  after: unknown;
}

/** `GET /v1/models/:model`. */
export interface ModelDetail {
  name: string;
  app: string;
  createdAt: string;
  rollout: RolloutView | null;
  versions: VersionView[];
  audit: AuditEntry[];
}

/** The drift tests the collector chooses from. */
export type DriftTest = "ks" | "chi2" | "psi" | "js" | "wasserstein";

/** Metrics of one feature; null where a metric does not apply or there is no data. */
export interface DriftMetrics {
  ks: number | null;
  ks_pvalue: number | null;
  psi: number | null;
  js: number | null;
  wasserstein_normed: number | null;
  chi2_pvalue?: number | null;
  unseen_share?: number | null;
}

/** Reference and current shares over the metric bins (`detail=bins`). */
export interface Bins {
  /** Inner edges of a numeric feature's reference bins (outer bins open). */
  edges?: number[];
  /** Categories (the last one `other` for a categorical feature) or classes. */
  labels?: string[];
  reference: number[];
  current: number[];
}

/** Drift of one feature or the prediction. */
export interface FeatureDrift {
  kind: "numeric" | "categorical" | "classification" | "regression";
  /** Values compared on the current side (missing ones left out). */
  count: number;
  test: DriftTest;
  drifted: boolean;
  /**
   * The test's value the verdict was taken on: its metric with `sender_share` of the current
   * values trimmed off (equal to the metric when that share is 0; null without a verdict).
   */
  value: number | null;
  /**
   * The largest share of the current values one sender (client network) may have given; the
   * verdict does not count it (docs/security.md, "One sender cannot steer a verdict").
   */
  sender_share: number;
  /**
   * The p-value of the feature's test when it is KS or chi-squared, else of KS (numeric) or
   * chi-squared (categories, classes); taken like `value`. Null without data or a p-value.
   */
  p_value: number | null;
  /**
   * `p_value` adjusted across the window's features (Benjamini–Hochberg); the prediction is a
   * family of its own, so its `p_adjusted` equals its `p_value`.
   */
  p_adjusted: number | null;
  metrics: DriftMetrics;
  bins?: Bins;
}

/** `GET /v1/drift`. */
export interface DriftAnswer {
  model: string;
  version: number;
  from: string;
  to: string;
  count: number;
  features: Record<string, FeatureDrift>;
  prediction: FeatureDrift | null;
  dataset: { drifted_share: number; drifted: boolean };
  /** Stored window rows left out because they could not be read (they are quarantined at the next flush). */
  skipped: number;
}

/** Latency quantiles of one backend, in milliseconds. */
export interface LatencyQuantiles {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/** Model quality from labels joined on the devices (`feedback()`). */
export type Performance =
  | { labelled: number; accuracy: number; recall: Record<string, number | null> }
  | { labelled: number; residual_mean: number; residual_p05: number; residual_p50: number; residual_p95: number };

/** `GET /v1/stats`. */
export interface StatsAnswer {
  /** Stored window rows left out because they could not be read. */
  skipped: number;
  model: string;
  version: number;
  role: "live" | "shadow";
  segment: string;
  from: string;
  to: string;
  reports: number;
  rows: number;
  errors: Record<string, number>;
  error_rate: number | null;
  latency_p95_ms: number | null;
  latency: Record<string, LatencyQuantiles>;
  performance: Performance | null;
  /** Agreement per shadow version. */
  shadow: Record<string, { rows: number; agree: number; agreement: number | null }>;
}

/** One alert state change of `GET /v1/alerts`. */
export interface Alert {
  id: number;
  model: string;
  version: number;
  kind: string;
  subject: string | null;
  state: "firing" | "resolved";
  value: number | null;
  threshold: number | null;
  message: string;
  at: string;
}


/** An API key as listed (never the token). */
export interface KeyView {
  id: string;
  app: string;
  role: "ingest" | "read" | "admin";
  /** The token's first characters, to recognise it. */
  prefix: string;
  label: string | null;
  /** Ingest keys: the only origins whose pages may use the key; null = any origin. */
  origins: string[] | null;
  createdAt: string;
  revokedAt: string | null;
}

/** `PUT /v1/models/:model/rollout` and `POST …/rollback`. */
export interface RolloutAnswer {
  changed: boolean;
  action: string | null;
  rollout: RolloutView;
}
