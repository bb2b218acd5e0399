import { QuantileSketch, type SketchKind, type SketchOf, cdfPoints, emptyLike, matchSketch } from "../../protocol/sketch/index.ts";

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
      const o = shaped(
        n.quantiles,
        scaled(n.quantiles.n, factor),
        (values) => {
          const built = emptyLike(n);
          for (const x of values) built.update(x);
          return built;
        },
        (a, b) => emptyLike(n).merge(a).merge(b),
      );
      o.missing = scaled(n.missing, factor);
      o.nonFinite = scaled(n.nonFinite, factor);
      return o;
    },
    categorical: (c) => {
      const o = emptyLike(c);
      c.counts.forEach((n, i) => (o.counts[i] = scaled(n, factor)));
      o.other = scaled(c.other, factor);
      o.missing = scaled(c.missing, factor);
      // rounded down, so the heavy hitters count no more than the unseen values (as decoding
      // requires: rounded, four seen once each and scaled by 1/2 counted 4 of 2, and the stored
      // window no longer decoded)
      for (const [value, n] of c.heavy) if (Math.floor(n * factor) > 0) o.heavy.set(value, Math.floor(n * factor));
      return o;
    },
    classification: (c) => {
      const o = emptyLike(c);
      c.counts.forEach((n, i) => (o.counts[i] = scaled(n, factor)));
      // rounded down, so no class has more binned scores than predictions
      c.confidence.forEach((n, i) => (o.confidence[i] = Math.floor(n * factor)));
      o.scores.merge(scaledQuantiles(c.scores, factor));
      // and no more entropies than predictions, as decoding requires: rounded on their own, two
      // predictions of a class each scaled by 2/5 were none, their two entropies one
      o.entropy.merge(
        scaledQuantiles(
          c.entropy,
          factor,
          o.counts.reduce((a, b) => a + b, 0),
        ),
      );
      return o;
    },
    latency: (l) => {
      const o = emptyLike(l);
      for (const [backend, q] of l.backends) {
        const kept = scaledQuantiles(q, factor);
        if (kept.n > 0) o.backends.set(backend, kept);
      }
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

/**
 * Values past which a scaled sketch is built by merging a smaller one with itself
 * ({@link shaped}).
 */
const MAX_THINNED = 4_096;

/** A quantile sketch of `q`'s shape holding its count scaled by `factor`, at most `most`. */
function scaledQuantiles(q: QuantileSketch, factor: number, most = Infinity): QuantileSketch {
  return shaped(
    q,
    Math.min(scaled(q.n, factor), most),
    (values) => {
      const built = new QuantileSketch(q.k);
      for (const x of values) built.update(x);
      return built;
    },
    (a, b) => new QuantileSketch(q.k).merge(a).merge(b),
  );
}

/**
 * A sketch of exactly `m` values in `q`'s shape: `build` of `q`'s {@link thinned} quantiles, or
 * past {@link MAX_THINNED} values, of ⌊m / 2^j⌋ of them merged with itself j times (each value
 * then counts 2^j times) and of the rest likewise. So the work is a few thousand updates and a few
 * merges however many values a sender's budget leaves a report: rebuilt a value at a time, a
 * report of a few hundred features of a million values each, just past a day window's budget,
 * took tens of seconds of the aggregator's CPU, and again at each decode of its logged form.
 *
 * @param q - the quantile sketch whose shape is kept
 * @param m - values the result holds
 * @param build - a sketch of these values
 * @param merge - a new sketch of two (neither changed)
 */
function shaped<T>(q: QuantileSketch, m: number, build: (values: number[]) => T, merge: (a: T, b: T) => T): T {
  if (m <= MAX_THINNED) return build(thinned(q, m));
  let doublings = 0;
  while (m / 2 ** doublings > MAX_THINNED) doublings++;
  const base = Math.floor(m / 2 ** doublings);
  let out = build(thinned(q, base));
  for (let i = 0; i < doublings; i++) out = merge(out, out);
  const rest = m - base * 2 ** doublings;
  return rest > 0 ? merge(out, shaped(q, rest, build, merge)) : out;
}

/** The sketch's quantiles at ranks (i + ½) / m: its shape in m values. */
function thinned(q: QuantileSketch, m: number): number[] {
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
