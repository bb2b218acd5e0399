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
  const { values, cdf } = cdfPoints(r.quantiles);
  let mae = 0;
  for (let i = 0; i < values.length; i++) mae += Math.abs(values[i]!) * (cdf[i]! - (i > 0 ? cdf[i - 1]! : 0));
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
  const { values, cdf } = cdfPoints(r.quantiles);
  const items = Array.from(values, (v, i) => ({ size: Math.abs(v), share: cdf[i]! - (i > 0 ? cdf[i - 1]! : 0) })).sort((x, y) => x.size - y.size);
  let keep = 1 - Math.min(1, a.senders.heaviest() / r.count);
  if (keep <= 0) return null;
  const kept = keep;
  let sum = 0;
  for (const { size, share } of items) {
    const taken = Math.min(share, keep);
    sum += size * taken;
    keep -= taken;
    if (keep <= 0) break;
  }
  return { mae: sum / kept, labelled: Math.round(r.count * kept) };
}
