import type { DriftResult } from "../drift/drift-report.ts";
import { testValue } from "../drift/test-choice.ts";
import type { Aggregate } from "../ingest/aggregate.ts";
import { QuantileSketch, quantile } from "../../protocol/sketch/index.ts";
import { ALL_FEATURES, type AlertConfig } from "./config.ts";

/** What an alert watches. */
export type AlertKind = "dataset_drift" | "feature_drift" | "error_rate" | "latency_p95" | "rollback";

/** One watched condition of one model version, judged over a window. */
export interface Condition {
  kind: AlertKind;
  /** The feature for `feature_drift`, else "". */
  subject: string;
  firing: boolean;
  value: number | null;
  threshold: number | null;
}

/**
 * p95 latency over every backend of an aggregate (NaN without latency data).
 *
 * @param a - the aggregate
 */
export function latencyP95(a: Aggregate): number {
  const all = new QuantileSketch();
  for (const s of a.latency?.backends.values() ?? []) all.merge(s);
  return quantile(all, 0.95);
}

/**
 * Error rate of an aggregate: errors / (rows predicted + errors), 0 without traffic.
 *
 * @param a - the aggregate
 */
export function errorRate(a: Aggregate): number {
  const errors = a.errorTotal;
  return a.rows + errors > 0 ? errors / (a.rows + errors) : 0;
}

/**
 * The watched conditions of one version over one window. A window with fewer than `minRows`
 * rows is not judged (empty list), so quiet hours neither fire nor resolve alerts.
 *
 * @param config - the model's alert configuration
 * @param drift - drift of the window
 * @param aggregate - the merged aggregate of the window
 */
export function evaluateConditions(config: AlertConfig, drift: DriftResult, aggregate: Aggregate): Condition[] {
  if (aggregate.rows < config.minRows) return [];
  const out: Condition[] = [];
  if (config.datasetDrift !== undefined) {
    const share = drift.dataset.drifted_share;
    out.push({ kind: "dataset_drift", subject: "", firing: share >= config.datasetDrift, value: share, threshold: config.datasetDrift });
  }
  if (config.featureDrift) {
    const watched = config.featureDrift.includes(ALL_FEATURES) ? Object.keys(drift.features) : config.featureDrift;
    for (const name of watched) {
      const f = drift.features[name];
      if (!f || f.count === 0) continue;
      out.push({ kind: "feature_drift", subject: name, firing: f.drifted, value: testValue(f.test, f.metrics), threshold: null });
    }
  }
  if (config.errorRate !== undefined) {
    const rate = errorRate(aggregate);
    out.push({ kind: "error_rate", subject: "", firing: rate >= config.errorRate, value: rate, threshold: config.errorRate });
  }
  if (config.latencyP95Ms !== undefined) {
    const p95 = latencyP95(aggregate);
    if (!Number.isNaN(p95)) out.push({ kind: "latency_p95", subject: "", firing: p95 > config.latencyP95Ms, value: p95, threshold: config.latencyP95Ms });
  }
  return out;
}
