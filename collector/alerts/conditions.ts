import type { DriftResult } from "../drift/drift-report.ts";
import { ALL_FEATURES, type AlertConfig } from "../../protocol/schema/alert-config.ts";
import { type SloInput, type SloKind, failedCalls, latencySubjects, measureObjectives, objectivesOf } from "./slo.ts";
import { accuracyWithoutHeaviest, estimatedAccuracyWithoutHeaviest, maeWithoutHeaviest } from "../aggregates/performance.ts";
import type { BaselinePerformance } from "../../protocol/schema/profile.ts";
import type { DriftTest } from "../../protocol/api.ts";
import { judgedWithoutHeaviest } from "../../protocol/drift/sender-trim.ts";

/** What an alert watches. */
export type AlertKind = "dataset_drift" | "feature_drift" | SloKind | "accuracy_drop" | "estimated_accuracy_drop" | "mae_increase" | "rollback";

/** One watched condition of one model version, judged over a window. */
export interface Condition {
  kind: AlertKind;
  /** The feature for `feature_drift`, the backend or device class of a latency objective (`backend:wasm`, `device:…`), else "". */
  subject: string;
  /** Whether the condition holds in this evaluation (the alert fires when it held in k of the last m). */
  holds: boolean;
  value: number | null;
  threshold: number | null;
  /** `feature_drift`: the test whose score `value` is (a p-value drifts below its threshold, a distance above). */
  test?: DriftTest;
  /** Not measured although its window was judged (its subject had no data, or it is no longer watched): it counts as not holding. */
  unmeasured?: boolean;
  /**
   * Its subject cannot be judged in a window that was: a latency slice whose calls, or a feature
   * whose values, cannot be judged without their heaviest sender (who may have sent them all), a
   * feature every row lacks. It keeps its state.
   */
  unjudged?: boolean;
  /**
   * It holds, or may hold, only as one sender made it: an error rate breached on the trimmed rate
   * but not on its floor without any one sender (slo.ts `errorRateFloor`). It fires its alert, but
   * the guardrail does not roll a canary back on it.
   */
  contested?: boolean;
}

/**
 * What identifies a condition of a version: its kind and subject, as `alert_states` keys it.
 *
 * @param c - the condition (or a stored state)
 */
export const conditionKey = (c: { kind: string; subject: string }): string => `${c.kind}|${c.subject}`;

/**
 * The kinds of condition a configuration watches.
 *
 * @param config - the model's alert configuration
 */
export function watchedKinds(config: AlertConfig): Set<AlertKind> {
  const kinds = new Set<AlertKind>(objectivesOf(config).map((o) => o.kind));
  const optional: [AlertKind, unknown][] = [
    ["dataset_drift", config.datasetDrift],
    ["feature_drift", config.featureDrift],
    ["accuracy_drop", config.accuracyDrop],
    ["estimated_accuracy_drop", config.estimatedAccuracyDrop],
    ["mae_increase", config.maeIncrease],
  ];
  for (const [kind, set] of optional) if (set !== undefined) kinds.add(kind);
  return kinds;
}

/**
 * The watched conditions of one version over one window. A window with fewer than `minRows`
 * calls is not judged (empty list), so quiet hours neither fire nor resolve alerts. A failed
 * call gives no row: a window of `minRows` calls but fewer rows (a version whose calls fail) is
 * judged on its error rate alone — not on throughput, which one sender's failed calls would
 * then get judged on a quiet window's few rows, nor on drift or quality, which need rows. Every
 * condition leaves the heaviest sender out (drift verdicts, objectives, performance), so one
 * client network cannot fire an alert or the guardrail (docs/security.md).
 *
 * @param config - the model's alert configuration
 * @param drift - drift of the window
 * @param slo - the merged aggregate of the window, its device classes and its length
 * @param baseline - the version's quality on its reference data, when its profile recorded it
 */
export function evaluateConditions(config: AlertConfig, drift: DriftResult, slo: SloInput, baseline?: BaselinePerformance): Condition[] {
  const aggregate = slo.aggregate;
  const objectives = () =>
    measureObjectives(config, slo, true).map(
      (m): Condition => ({ kind: m.kind, subject: m.subject, holds: m.breached, value: m.value, threshold: m.target, ...(m.sure === false && { contested: true }) }),
    );
  if (aggregate.rows < config.minRows) {
    if (aggregate.rows + failedCalls(aggregate) < config.minRows) return [];
    return objectives().filter((c) => c.kind === "error_rate");
  }
  const out: Condition[] = [];
  if (config.datasetDrift !== undefined) {
    const share = drift.dataset.drifted_share;
    // no feature judged (no values, or all of them possibly its heaviest sender's): the share is of none, the state stays
    const unjudged = !Object.values(drift.features).some(judgedWithoutHeaviest);
    out.push({ kind: "dataset_drift", subject: "", holds: !unjudged && share >= config.datasetDrift, value: share, threshold: config.datasetDrift, unjudged });
  }
  if (config.featureDrift) {
    const watched = config.featureDrift.includes(ALL_FEATURES) ? Object.keys(drift.features) : config.featureDrift;
    for (const name of watched) {
      const f = drift.features[name];
      if (!f) continue;
      // no values in a judged window (every row missing it), or none to judge without the heaviest
      // sender (who may have sent them all, or outweighs them with rows without it): it keeps its state
      if (!judgedWithoutHeaviest(f)) out.push({ kind: "feature_drift", subject: name, holds: false, value: null, threshold: null, unjudged: true });
      else out.push({ kind: "feature_drift", subject: name, holds: f.drifted, value: f.value, threshold: f.threshold, test: f.test });
    }
  }
  const measured = objectives();
  out.push(...measured);
  // a latency slice with calls but no value without its heaviest sender (one sender's calls on another
  // backend can outweigh a backend's): not "no data", so its record keeps its state (store.ts)
  for (const kind of ["latency_p95", "latency_p99"] as const) {
    if ((kind === "latency_p95" ? config.latencyP95Ms : config.latencyP99Ms) === undefined) continue;
    for (const subject of latencySubjects(slo, config.minRows))
      if (!measured.some((m) => m.kind === kind && m.subject === subject)) out.push({ kind, subject, holds: false, value: null, threshold: null, unjudged: true });
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
