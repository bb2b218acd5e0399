import type { EstimatedPerformance, Performance } from "../../protocol/api.ts";
import { type EstimatedQuality, bandHalfWidth, estimateQuality } from "../../protocol/performance-estimate.ts";
import { TRIM_RANK_ERROR } from "../../protocol/drift/sender-trim.ts";
import { classQuality } from "../../protocol/performance.ts";
import type { BaselinePerformance } from "../../protocol/schema/profile.ts";
import { ClassificationSketch, cdfPoints, quantile } from "../../protocol/sketch/index.ts";
import type { Aggregate } from "./aggregate.ts";

/**
 * Model quality from labels joined on the devices (`feedback()`): accuracy and per-class
 * precision, recall and F1 from the confusion matrix (the arithmetic of the profile's baseline),
 * or residual quantiles, MAE and RMSE for a regression (MAE from the residual sketch's items, so
 * within its rank error); null without labels.
 *
 * @param a - the merged aggregate
 */
export function livePerformance(a: Aggregate): Performance | null {
  const m = a.confusion;
  if (m) return classQuality(m.labels, (actual, predicted) => m.count(actual, predicted));
  const r = a.residual;
  if (!r || r.count === 0) return null;
  const q = (p: number) => quantile(r.quantiles, p);
  const mae = meanOfSmallest(residualSizes(r.quantiles), 1);
  const rmse = Math.sqrt(r.m2 / r.count + r.mean * r.mean);
  return { labelled: r.count, residual_mean: r.mean, residual_p05: q(0.05), residual_p50: q(0.5), residual_p95: q(0.95), mae, rmse };
}

/**
 * Accuracy of a window's labelled rows without the sender of the most labels, at its most
 * favourable: as if all that sender's labels had been wrong (correct / (labelled − its labels)),
 * so one client network cannot make accuracy look lower than the others' data show. Null
 * without a confusion matrix, or when that sender may have given every label.
 *
 * @param a - the merged aggregate
 */
export function accuracyWithoutHeaviest(a: Aggregate): { accuracy: number; labelled: number } | null {
  const quality = a.confusion && classQuality(a.confusion.labels, (actual, predicted) => a.confusion!.count(actual, predicted));
  if (!quality) return null;
  const trimmed = withoutHeaviest(quality.accuracy, quality.labelled, a.labellers.heaviest());
  return trimmed && { accuracy: trimmed.accuracy, labelled: trimmed.rows };
}

/**
 * A classifier's performance in a window estimated without labels from its prediction sketch
 * and the fit its profile recorded (protocol/performance-estimate.ts), with the band realised
 * performance is expected in. Null without that fit, or without scored predictions.
 *
 * @param a - the merged aggregate (its prediction part)
 * @param baseline - the version's baseline performance
 */
export function estimatedPerformance(a: Aggregate, baseline: BaselinePerformance | null | undefined): EstimatedPerformance | null {
  const estimate = estimateOf(a, baseline);
  if (!estimate || baseline?.kind !== "classification" || !baseline.estimation) return null;
  const { band } = baseline.estimation;
  const around = (value: number, sigma: number): [number, number] => {
    const half = bandHalfWidth(sigma, band.rows, estimate.rows);
    return [Math.max(0, value - half), Math.min(1, value + half)];
  };
  const f1 = Object.fromEntries(Object.entries(estimate.f1).map(([label, value]) => [label, value === null || band.f1[label] == null ? null : around(value, band.f1[label]!)]));
  return { ...estimate, band: { accuracy: around(estimate.accuracy, band.accuracy), f1 } };
}

/**
 * Estimated accuracy of a window without the heaviest sender, at its most favourable (as
 * {@link accuracyWithoutHeaviest}): what the alerts judge, so one client network cannot make the
 * estimate look lower than the others' predictions show. Null as {@link estimatedPerformance} is,
 * or when that sender may have sent every prediction.
 *
 * @param a - the merged aggregate (its prediction part)
 * @param baseline - the version's baseline performance
 */
export function estimatedAccuracyWithoutHeaviest(a: Aggregate, baseline: BaselinePerformance | null | undefined): { accuracy: number; rows: number } | null {
  const estimate = estimateOf(a, baseline);
  return estimate && withoutHeaviest(estimate.accuracy, estimate.rows, a.senders.heaviest());
}

function estimateOf(a: Aggregate, baseline: BaselinePerformance | null | undefined): EstimatedQuality | null {
  const p = a.prediction;
  if (baseline?.kind !== "classification" || !baseline.estimation || !(p instanceof ClassificationSketch)) return null;
  if (p.labels.length !== baseline.estimation.curves.length || p.confidence.length === 0) return null;
  return estimateQuality(p.labels, baseline.estimation, p.confidence);
}

/** Accuracy over `rows` as if the heaviest sender's `heaviest` rows (an upper bound of them) had all been wrong and were left out. */
function withoutHeaviest(accuracy: number, rows: number, heaviest: number): { accuracy: number; rows: number } | null {
  const others = rows - Math.min(rows, heaviest);
  return others > 0 ? { accuracy: Math.min(1, (accuracy * rows) / others), rows: others } : null;
}

/**
 * Mean absolute residual of a window's labelled rows without the sender of the most labels, at
 * its most favourable: as if that sender had given the largest residuals (its mass, and the
 * sketch's rank error `TRIM_RANK_ERROR`, taken off the top of the residual sketch's items, ordered
 * by size), so one client network cannot make errors look larger than the others' data show.
 * Null without residuals, or when that sender may have given them all.
 *
 * @param a - the merged aggregate
 */
export function maeWithoutHeaviest(a: Aggregate): { mae: number; labelled: number } | null {
  const r = a.residual;
  if (!r || r.count === 0) return null;
  const keep = 1 - Math.min(1, a.labellers.heaviest() / r.count);
  // the sketch's rank error left out too: the largest residuals were one sender's, a sliver of
  // the share kept past them by rounding (or rank error) took in one of 3e38 and the mean with it
  const judged = keep - TRIM_RANK_ERROR;
  if (judged <= 0) return null;
  return { mae: meanOfSmallest(residualSizes(r.quantiles), judged), labelled: Math.round(r.count * keep) };
}

/** The residual sketch's items as absolute sizes with their share of the weight, smallest first. */
function residualSizes(quantiles: Parameters<typeof cdfPoints>[0]): { size: number; share: number }[] {
  const { values, cdf } = cdfPoints(quantiles);
  return Array.from(values, (v, i) => ({ size: Math.abs(v), share: cdf[i]! - (i > 0 ? cdf[i - 1]! : 0) })).sort((x, y) => x.size - y.size);
}

/** The mean size of the smallest `keep` share of the weight (all of it at 1). */
function meanOfSmallest(items: readonly { size: number; share: number }[], keep: number): number {
  let left = keep;
  let sum = 0;
  for (const { size, share } of items) {
    const taken = Math.min(share, left);
    sum += size * taken;
    left -= taken;
    if (left <= 0) break;
  }
  return sum / keep;
}
