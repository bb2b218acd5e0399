import { type QuantileSketch, cdfGaps, cdfPoints } from "../sketch/index.ts";
import { TRIM_RANK_ERROR, trimGap } from "./sender-trim.ts";

/**
 * Wasserstein-1 (earth mover's) distance between two sketched distributions: the area between
 * their CDFs, ∫ |F_a(x) − F_b(x)| dx, with each CDF the step function of its retained items.
 * Equals scipy's `wasserstein_distance` of the raw samples within the sketches' rank error.
 * With `trim`, every gap is trimmed by that share of `b` ({@link trimGap}) and by
 * {@link TRIM_RANK_ERROR}.
 *
 * @param a - one sketch (the reference)
 * @param b - the other (the current side)
 * @param trim - share of `b` one sender may have given
 * @returns the distance, NaN when either is empty
 */
export function wasserstein1(a: QuantileSketch, b: QuantileSketch, trim = 0): number {
  if (a.n === 0 || b.n === 0) return NaN;
  let area = 0;
  let prev = NaN;
  let last = 0;
  // the gap found at one value holds up to the next
  cdfGaps(a, b, (x, gap) => {
    if (!Number.isNaN(prev)) area += last * (x - prev);
    last = trim > 0 ? trimGap(Math.max(0, gap - TRIM_RANK_ERROR), trim) : gap;
    prev = x;
  });
  return area;
}

/**
 * Population standard deviation of a sketch's retained items (for sketches without moments,
 * such as classification scores).
 *
 * @param s - the sketch
 */
export function sketchStd(s: QuantileSketch): number {
  if (s.n === 0) return NaN;
  const { values, cdf } = cdfPoints(s);
  let mean = 0;
  let prev = 0;
  values.forEach((v, i) => {
    mean += v * (cdf[i]! - prev);
    prev = cdf[i]!;
  });
  let variance = 0;
  prev = 0;
  values.forEach((v, i) => {
    variance += (v - mean) * (v - mean) * (cdf[i]! - prev);
    prev = cdf[i]!;
  });
  return Math.sqrt(variance);
}
