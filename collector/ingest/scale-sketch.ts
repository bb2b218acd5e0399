import {
  CategoricalSketch,
  ClassificationSketch,
  ErrorCounts,
  LatencySketch,
  NumericSketch,
  QuantileSketch,
  cdfPoints,
} from "../../protocol/sketch/index.ts";

/** The sketches a sender's budget scales: what drift and the guardrail's conditions read. */
export type ScaledSketch = NumericSketch | CategoricalSketch | ClassificationSketch | LatencySketch | ErrorCounts;

/** `n` scaled by `factor`, rounded to a whole count. */
const scaled = (n: number, factor: number) => Math.round(n * factor);

/**
 * The sketch with its weight scaled down by `factor` and its shape kept: counts are scaled and
 * rounded; quantile sketches are rebuilt from as many of their own quantiles (evenly spaced in
 * rank) as the scaled count. What a sender's data weighs past its budget (./sender-budget.ts).
 *
 * @param s - a decoded sketch (left as it is)
 * @param factor - in [0, 1]
 * @example
 * scaleSketch(numeric, 0.01).count // numeric.count / 100, rounded
 */
export function scaleSketch<T extends ScaledSketch>(s: T, factor: number): T {
  if (s instanceof NumericSketch) {
    const out = new NumericSketch({ ...(s.range && { range: s.range }), k: s.quantiles.k });
    for (const x of thinned(s.quantiles, factor)) out.update(x);
    out.missing = scaled(s.missing, factor);
    out.nonFinite = scaled(s.nonFinite, factor);
    return out as T;
  }
  if (s instanceof CategoricalSketch) {
    const out = new CategoricalSketch(s.categories, s.capacity);
    s.counts.forEach((c, i) => (out.counts[i] = scaled(c, factor)));
    out.other = scaled(s.other, factor);
    out.missing = scaled(s.missing, factor);
    for (const [value, c] of s.heavy) if (scaled(c, factor) > 0) out.heavy.set(value, scaled(c, factor));
    return out as T;
  }
  if (s instanceof ClassificationSketch) {
    const out = new ClassificationSketch(s.labels, s.scores.k);
    s.counts.forEach((c, i) => (out.counts[i] = scaled(c, factor)));
    for (const x of thinned(s.scores, factor)) out.scores.update(x);
    return out as T;
  }
  if (s instanceof LatencySketch) {
    const out = new LatencySketch(s.k);
    for (const [backend, q] of s.backends) for (const x of thinned(q, factor)) out.update(backend, x);
    return out as T;
  }
  const out = new ErrorCounts();
  for (const [code, c] of (s as ErrorCounts).counts) if (scaled(c, factor) > 0) out.update(code, scaled(c, factor));
  return out as T;
}

/** The sketch's quantiles at ranks (i + ½) / m for m = its count scaled: its shape in m values. */
function thinned(q: QuantileSketch, factor: number): number[] {
  const m = scaled(q.n, factor);
  if (m === 0) return [];
  const { values, cdf } = cdfPoints(q);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < m; i++) {
    const rank = (i + 0.5) / m;
    while (j < cdf.length - 1 && cdf[j]! < rank) j++;
    out.push(values[j]!);
  }
  return out;
}
