import { type AnySketch, type QuantileSketch, type SketchKind, type SketchOf, matchSketch } from "../../protocol/sketch/index.ts";

/**
 * One function per sketch kind, for {@link matchSketch}. Defined once at module level: an object
 * of arrow functions built at every call took a fifth of an aggregator's time to merge a report
 * (each closure allocated, and named by the bundler's keepNames).
 */
type ByKind<R> = { [K in SketchKind]: (s: SketchOf<K>) => R };

const sum = (xs: Iterable<number>) => {
  let n = 0;
  for (const x of xs) n += x;
  return n;
};

/**
 * How many values a sketch claims to hold: what a report's `rows` must cover. A numeric
 * sketch counts its missing, non-finite and finite values; a classification sketch the larger
 * of its class counts and its score count.
 *
 * @param s - any sketch
 */
export function sketchWeight(s: AnySketch): number {
  return matchSketch(s, WEIGHT);
}

const WEIGHT: ByKind<number> = {
  numeric: (n) => n.missing + n.nonFinite + n.quantiles.n,
  categorical: (c) => c.total,
  classification: (c) => Math.max(sum(c.counts), c.scores.n, c.entropy.n),
  latency: (l) => sum([...l.backends.values()].map((q) => q.n)),
  errors: (e) => sum(e.counts.values()),
  confusion: (m) => sum(m.cells),
  embedding: (e) => e.count,
};

/** Bytes of a sketch object and its fixed fields, before any array. */
const SKETCH_BYTES = 1_000;

function quantileBytes(q: QuantileSketch): number {
  let floats = q.buf_.length;
  for (let h = 1; h < q.levels_.length; h++) floats += q.levels_[h]!.length;
  return SKETCH_BYTES + floats * 8;
}

/**
 * An estimate of the heap a sketch holds: its quantile arrays as allocated (8 bytes a float64,
 * growth slack included), 16 bytes a category count, 160 a heavy-hitter or error-code entry,
 * and a fixed 1,000 bytes per object (its fields, small arrays, map entry; a numeric sketch is two). `test/unit/collector/aggregates/memory-estimate.test.ts` checks it
 * against V8's heap. It bounds what an aggregator holds in memory.
 *
 * @param s - any sketch
 */
export function sketchBytes(s: AnySketch): number {
  return matchSketch(s, BYTES);
}

const BYTES: ByKind<number> = {
  numeric: (n) => SKETCH_BYTES + quantileBytes(n.quantiles),
  categorical: (c) => SKETCH_BYTES + c.counts.length * 16 + c.heavy.size * 160,
  classification: (c) => SKETCH_BYTES + c.counts.length * 16 + quantileBytes(c.scores) + quantileBytes(c.entropy),
  latency: (l) => SKETCH_BYTES + sum([...l.backends.values()].map(quantileBytes)),
  errors: (e) => SKETCH_BYTES + e.counts.size * 160,
  confusion: (m) => SKETCH_BYTES + m.cells.length * 16,
  embedding: (e) => SKETCH_BYTES + 16 * (e.dims + e.features),
};

/**
 * Lets go of the growth slack of a sketch's quantile arrays ({@link QuantileSketch.shrink}); its
 * contents stay the same, and {@link sketchBytes} drops to about what it retains.
 *
 * @param s - any sketch
 */
export function shrinkSketch(s: AnySketch): void {
  matchSketch(s, SHRINK);
}

const none = () => {};
const SHRINK: ByKind<void> = {
  numeric: (n) => n.quantiles.shrink(),
  categorical: none,
  classification: (c) => (c.scores.shrink(), c.entropy.shrink()),
  latency: (l) => l.backends.forEach((q) => q.shrink()),
  errors: none,
  confusion: none,
  embedding: none,
};
