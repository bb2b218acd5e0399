import type { Performance } from "../../protocol/api.ts";
import { classQuality } from "../../protocol/performance.ts";
import { cdfPoints, quantile } from "../../protocol/sketch/index.ts";
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
 * Accuracy of a window's labelled rows without the heaviest sender, at its most favourable: as
 * if all that sender's labelled rows had been wrong (correct / (labelled − its mass)), so one
 * client network cannot make accuracy look lower than the others' data show. Null without a
 * confusion matrix, or when that sender may have given every label.
 *
 * @param a - the merged aggregate
 */
export function accuracyWithoutHeaviest(a: Aggregate): { accuracy: number; labelled: number } | null {
  const quality = a.confusion && classQuality(a.confusion.labels, (actual, predicted) => a.confusion!.count(actual, predicted));
  if (!quality) return null;
  const others = quality.labelled - Math.min(quality.labelled, a.senders.heaviest());
  if (others <= 0) return null;
  return { accuracy: Math.min(1, (quality.accuracy * quality.labelled) / others), labelled: others };
}

/**
 * Mean absolute residual of a window's labelled rows without the heaviest sender, at its most
 * favourable: as if that sender had given the largest residuals (its mass taken off the top of
 * the residual sketch's items, ordered by size), so one client network cannot make errors look
 * larger than the others' data show. Null without residuals, or when that sender may have given
 * them all.
 *
 * @param a - the merged aggregate
 */
export function maeWithoutHeaviest(a: Aggregate): { mae: number; labelled: number } | null {
  const r = a.residual;
  if (!r || r.count === 0) return null;
  const keep = 1 - Math.min(1, a.senders.heaviest() / r.count);
  if (keep <= 0) return null;
  return { mae: meanOfSmallest(residualSizes(r.quantiles), keep), labelled: Math.round(r.count * keep) };
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
