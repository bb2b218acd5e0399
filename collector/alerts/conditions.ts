import type { DriftResult } from "../drift/drift-report.ts";
import type { Aggregate } from "../aggregates/aggregate.ts";
import { QuantileSketch, quantile } from "../../protocol/sketch/index.ts";
import { ALL_FEATURES, type AlertConfig } from "./config.ts";
import { accuracyWithoutHeaviest, estimatedAccuracyWithoutHeaviest, maeWithoutHeaviest } from "../aggregates/performance.ts";
import type { BaselinePerformance } from "../../protocol/schema/profile.ts";

/** What an alert watches. */
export type AlertKind = "dataset_drift" | "feature_drift" | "error_rate" | "latency_p95" | "accuracy_drop" | "estimated_accuracy_drop" | "mae_increase" | "rollback";

/** One watched condition of one model version, judged over a window. */
export interface Condition {
  kind: AlertKind;
  /** The feature for `feature_drift`, else "". */
  subject: string;
  /** Whether the condition holds in this evaluation (the alert fires when it held in k of the last m). */
  holds: boolean;
  value: number | null;
  threshold: number | null;
}

/**
 * p95 latency over every backend of an aggregate (NaN without latency data). With `trimmed`,
 * a lower bound of the p95 of all senders but the heaviest: the quantile 0.95·(1 − t), with t
 * the share of the latencies that sender may have given (all of them: NaN).
 *
 * @param a - the aggregate
 * @param trimmed - leave the heaviest sender out
 */
export function latencyP95(a: Aggregate, trimmed = false): number {
  const all = new QuantileSketch();
  for (const s of a.latency?.backends.values() ?? []) all.merge(s);
  const share = trimmed && all.n > 0 ? Math.min(1, a.senders.heaviest() / all.n) : 0;
  return share < 1 ? quantile(all, 0.95 * (1 - share)) : NaN;
}

/**
 * Error rate of an aggregate: errors / (rows predicted + errors), 0 without traffic. Rows a
 * client `dropped` from its full queue (the collector was down) are not errors of the model. With
 * `trimmed`, a lower bound of the rate of all senders but the heaviest (who may have given up
 * to its mass in errors): (errors − h) / (rows + errors − h), at least 0.
 *
 * @param a - the aggregate
 * @param trimmed - leave the heaviest sender out
 */
export function errorRate(a: Aggregate, trimmed = false): number {
  const errors = a.errorTotal - (a.errors?.counts.get("dropped") ?? 0);
  const heaviest = trimmed ? Math.min(errors, a.senders.heaviest()) : 0;
  const total = a.rows + errors - heaviest;
  return total > 0 ? (errors - heaviest) / total : 0;
}

/**
 * The watched conditions of one version over one window. A window with fewer than `minRows`
 * rows is not judged (empty list), so quiet hours neither fire nor resolve alerts. Every
 * condition leaves the heaviest sender out (drift verdicts, error rate, p95), so one client
 * network cannot fire an alert or the guardrail (docs/security.md).
 *
 * @param config - the model's alert configuration
 * @param drift - drift of the window
 * @param aggregate - the merged aggregate of the window
 * @param baseline - the version's quality on its reference data, when its profile recorded it
 */
export function evaluateConditions(config: AlertConfig, drift: DriftResult, aggregate: Aggregate, baseline?: BaselinePerformance): Condition[] {
  if (aggregate.rows < config.minRows) return [];
  const out: Condition[] = [];
  if (config.datasetDrift !== undefined) {
    const share = drift.dataset.drifted_share;
    out.push({ kind: "dataset_drift", subject: "", holds: share >= config.datasetDrift, value: share, threshold: config.datasetDrift });
  }
  if (config.featureDrift) {
    const watched = config.featureDrift.includes(ALL_FEATURES) ? Object.keys(drift.features) : config.featureDrift;
    for (const name of watched) {
      const f = drift.features[name];
      if (!f || f.count === 0) continue;
      out.push({ kind: "feature_drift", subject: name, holds: f.drifted, value: f.value, threshold: null });
    }
  }
  if (config.errorRate !== undefined) {
    const rate = errorRate(aggregate, true);
    out.push({ kind: "error_rate", subject: "", holds: rate >= config.errorRate, value: rate, threshold: config.errorRate });
  }
  if (config.latencyP95Ms !== undefined) {
    const p95 = latencyP95(aggregate, true);
    if (!Number.isNaN(p95)) out.push({ kind: "latency_p95", subject: "", holds: p95 > config.latencyP95Ms, value: p95, threshold: config.latencyP95Ms });
  }
  if (config.accuracyDrop !== undefined && baseline?.kind === "classification") {
    const live = accuracyWithoutHeaviest(aggregate);
    if (live && live.labelled >= config.minLabelled) {
      const drop = baseline.accuracy - live.accuracy;
      out.push({ kind: "accuracy_drop", subject: "", holds: drop > config.accuracyDrop, value: drop, threshold: config.accuracyDrop });
    }
  }
  if (config.estimatedAccuracyDrop !== undefined && baseline?.kind === "classification") {
    const estimated = estimatedAccuracyWithoutHeaviest(aggregate, baseline);
    if (estimated) {
      const drop = baseline.accuracy - estimated.accuracy;
      out.push({ kind: "estimated_accuracy_drop", subject: "", holds: drop > config.estimatedAccuracyDrop, value: drop, threshold: config.estimatedAccuracyDrop });
    }
  }
  if (config.maeIncrease !== undefined && baseline?.kind === "regression" && baseline.mae > 0) {
    const live = maeWithoutHeaviest(aggregate);
    if (live && live.labelled >= config.minLabelled) {
      const increase = live.mae / baseline.mae - 1;
      out.push({ kind: "mae_increase", subject: "", holds: increase > config.maeIncrease, value: increase, threshold: config.maeIncrease });
    }
  }
  return out;
}
