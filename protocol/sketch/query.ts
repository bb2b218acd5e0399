import { type QuantileSketch, cdfPoints } from "./quantiles.ts";

/**
 * The fraction of a sketch's values ≤ `x` (NaN when empty).
 *
 * @param s - the sketch
 * @param x - any number
 * @example
 * cdf(s, 10) // 0.42
 */
export function cdf(s: QuantileSketch, x: number): number {
  if (s.n === 0) return NaN;
  if (x < s.min) return 0;
  if (x >= s.max) return 1;
  const { values, cdf } = cdfPoints(s);
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return cdf[lo - 1] ?? 0;
}

/**
 * The smallest retained value whose CDF reaches `q`; `q ≤ 0` gives the min, `q ≥ 1` the max
 * (NaN when empty).
 *
 * @param s - the sketch
 * @param q - a rank in [0, 1]
 * @example
 * quantile(latency, 0.95)
 */
export function quantile(s: QuantileSketch, q: number): number {
  if (s.n === 0) return NaN;
  if (q <= 0) return s.min;
  if (q >= 1) return s.max;
  const { values, cdf } = cdfPoints(s);
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < q) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(s.max, Math.max(s.min, values[lo]!));
}

/**
 * Inner edges of `bins` equal-mass bins of a (reference) sketch, e.g. 10 → the 9 deciles,
 * for PSI, JS and chi-squared; the outer bins are open.
 *
 * @param s - the sketch
 * @param bins - number of bins
 * @defaultValue bins 10
 */
export function binEdges(s: QuantileSketch, bins = 10): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) edges.push(quantile(s, i / bins));
  return edges;
}

/**
 * The mass of a sketch in each bin `(-∞, e0], (e0, e1], …, (e_last, ∞)`: `edges.length + 1`
 * fractions summing to 1.
 *
 * @param s - the sketch
 * @param edges - ascending inner edges, e.g. {@link binEdges} of the reference
 * @example
 * const ref = pmf(reference, binEdges(reference)); const cur = pmf(current, binEdges(reference));
 */
export function pmf(s: QuantileSketch, edges: readonly number[]): number[] {
  let prev = 0;
  const out = edges.map((e) => {
    const c = cdf(s, e);
    const mass = c - prev;
    prev = c;
    return mass;
  });
  out.push(1 - prev);
  return out;
}

/**
 * The two-sample Kolmogorov–Smirnov statistic of two sketches: the largest CDF difference,
 * evaluated at every retained value of both (NaN when either is empty).
 *
 * @param a - one sample's sketch
 * @param b - the other's
 * @example
 * const d = ksStatistic(reference, current); // 0 (same) … 1 (disjoint)
 */
export function ksStatistic(a: QuantileSketch, b: QuantileSketch): number {
  if (a.n === 0 || b.n === 0) return NaN;
  let d = 0;
  cdfGaps(a, b, (_x, gap) => (d = Math.max(d, gap)));
  return d;
}

/**
 * Walks both sketches' step CDFs in value order: at every retained value `x` of either (once
 * per distinct value, ascending) calls `visit(x, |F_a(x) − F_b(x)|)`. KS is the largest gap;
 * the Wasserstein distance is the area under the gaps.
 *
 * @param a - one sketch
 * @param b - the other
 * @param visit - called per distinct value with the CDF gap there
 */
export function cdfGaps(a: QuantileSketch, b: QuantileSketch, visit: (x: number, gap: number) => void): void {
  const pa = cdfPoints(a);
  const pb = cdfPoints(b);
  let i = 0;
  let j = 0;
  while (i < pa.values.length || j < pb.values.length) {
    const x = Math.min(pa.values[i] ?? Infinity, pb.values[j] ?? Infinity);
    while (i < pa.values.length && pa.values[i]! <= x) i++;
    while (j < pb.values.length && pb.values[j]! <= x) j++;
    visit(x, Math.abs((pa.cdf[i - 1] ?? 0) - (pb.cdf[j - 1] ?? 0)));
  }
}
