import type { QuantileSketch } from "../../protocol/sketch/index.ts";

/**
 * Wasserstein-1 (earth mover's) distance between two sketched distributions: the area between
 * their CDFs, ∫ |F_a(x) − F_b(x)| dx, with each CDF the step function of its retained items.
 * Equals scipy's `wasserstein_distance` of the raw samples within the sketches' rank error.
 *
 * @param a - one sketch
 * @param b - the other
 * @returns the distance, NaN when either is empty
 */
export function wasserstein1(a: QuantileSketch, b: QuantileSketch): number {
  if (a.n === 0 || b.n === 0) return NaN;
  const pa = a.points();
  const pb = b.points();
  let i = 0;
  let j = 0;
  let area = 0;
  let prev = NaN;
  let gap = 0;
  while (i < pa.values.length || j < pb.values.length) {
    const x = Math.min(pa.values[i] ?? Infinity, pb.values[j] ?? Infinity);
    if (!Number.isNaN(prev)) area += gap * (x - prev);
    while (i < pa.values.length && pa.values[i]! <= x) i++;
    while (j < pb.values.length && pb.values[j]! <= x) j++;
    gap = Math.abs((pa.cdf[i - 1] ?? 0) - (pb.cdf[j - 1] ?? 0));
    prev = x;
  }
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
  const { values, cdf } = s.points();
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
