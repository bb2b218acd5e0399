import { type QuantileSketch, type SketchKind, type SketchOf, cdfPoints, emptyLike, matchSketch } from "../../protocol/sketch/index.ts";

/** The sketches a sender's budgets scale: every kind. */
export type ScaledSketch = SketchOf<SketchKind>;

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
  const out = matchSketch<SketchKind, ScaledSketch>(s, {
    numeric: (n) => {
      const o = emptyLike(n);
      for (const x of thinned(n.quantiles, factor)) o.update(x);
      o.missing = scaled(n.missing, factor);
      o.nonFinite = scaled(n.nonFinite, factor);
      return o;
    },
    categorical: (c) => {
      const o = emptyLike(c);
      c.counts.forEach((n, i) => (o.counts[i] = scaled(n, factor)));
      o.other = scaled(c.other, factor);
      o.missing = scaled(c.missing, factor);
      for (const [value, n] of c.heavy) if (scaled(n, factor) > 0) o.heavy.set(value, scaled(n, factor));
      return o;
    },
    classification: (c) => {
      const o = emptyLike(c);
      c.counts.forEach((n, i) => (o.counts[i] = scaled(n, factor)));
      // rounded down, so no class has more binned scores than predictions
      c.confidence.forEach((n, i) => (o.confidence[i] = Math.floor(n * factor)));
      for (const x of thinned(c.scores, factor)) o.scores.update(x);
      for (const x of thinned(c.entropy, factor)) o.entropy.update(x);
      return o;
    },
    latency: (l) => {
      const o = emptyLike(l);
      for (const [backend, q] of l.backends) for (const x of thinned(q, factor)) o.update(backend, x);
      return o;
    },
    embedding: (e) => {
      // the count scaled and rounded, every sum by the same ratio: means and variances stay
      const o = emptyLike(e);
      o.count = scaled(e.count, factor);
      const ratio = e.count > 0 ? o.count / e.count : 0;
      for (const key of ["sum", "squares", "kernelSum", "kernelSquares"] as const) e[key].forEach((v, i) => (o[key][i] = v * ratio));
      return o;
    },
    confusion: (m) => {
      const o = emptyLike(m);
      m.cells.forEach((n, i) => (o.cells[i] = scaled(n, factor)));
      return o;
    },
    errors: (e) => {
      const o = emptyLike(e);
      for (const [code, n] of e.counts) if (scaled(n, factor) > 0) o.update(code, scaled(n, factor));
      return o;
    },
  });
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
