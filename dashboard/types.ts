// Shapes of the collector's JSON answers the dashboard reads (docs/registry.md, docs/drift.md,
// docs/ingest.md). Only the fields the dashboard uses are listed.

/** A model's rollout: stable, optional canary with a percent, optional shadow. */
export interface Rollout {
  configVersion: number;
  stable: number;
  canary: { version: number; percent: number } | null;
  shadow: { version: number; sampleRate: number } | null;
  sampleRate: number;
  updatedAt: string;
}

/** One entry of `GET /v1/models`. */
export interface ModelSummary {
  name: string;
  app: string;
  createdAt: string;
  latestVersion: number;
  rollout: Rollout | null;
}

/** A published version, without manifest. */
export interface Version {
  version: number;
  sha256: string;
  size: number;
  profileRows: number;
  publisher: string;
  createdAt: string;
}

/** An audit-log row: one rollout change or publish. */
export interface AuditEntry {
  id: number;
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
  rollout: Rollout | null;
  versions: Version[];
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
  count: number;
  test: DriftTest;
  drifted: boolean;
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
}

/** Latency quantiles of one backend, in milliseconds. */
export interface LatencyQuantiles {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/** `GET /v1/stats`. */
export interface StatsAnswer {
  version: number;
  reports: number;
  rows: number;
  errors: Record<string, number>;
  error_rate: number | null;
  latency: Record<string, LatencyQuantiles>;
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

/** `GET /v1/segments`: segment keys and their values. */
export type Segments = Record<string, string[]>;

/** Query of the routes that read window aggregates. */
export interface WindowQuery {
  model: string;
  version?: number | undefined;
  role?: "live" | "shadow";
  from: number;
  to: number;
  /** Canonical `key:value[,…]`; empty for all traffic. */
  segment?: string;
}

/** The body of `PUT /v1/models/:model/rollout`. */
export interface RolloutChange {
  stable?: number;
  canary?: { version: number; percent: number } | null;
  shadow?: { version: number; sampleRate: number } | null;
}
