import { DriftlineError } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import {
  CategoricalSketch,
  ClassificationSketch,
  ConfusionMatrix,
  ErrorCounts,
  LatencySketch,
  NumericSketch,
  QuantileSketch,
  decodeCategorical,
  decodeClassification,
  decodeConfusion,
  decodeErrorCounts,
  decodeLatency,
  decodeNumeric,
  fromBase64,
} from "../../protocol/sketch/index.ts";
import { TAG } from "../../protocol/sketch/codec.ts";

/** Any sketch a report or an aggregate holds. */
export type AnySketch = NumericSketch | CategoricalSketch | ClassificationSketch | LatencySketch | ErrorCounts | ConfusionMatrix;

const DECODERS: Record<number, (bytes: Uint8Array) => AnySketch> = {
  [TAG.numeric]: decodeNumeric,
  [TAG.categorical]: decodeCategorical,
  [TAG.classification]: decodeClassification,
  [TAG.latency]: decodeLatency,
  [TAG.errors]: decodeErrorCounts,
  [TAG.confusion]: decodeConfusion,
};

/**
 * Decodes a base64 sketch of any type by its tag byte; malformed bytes or an unknown tag throw
 * DriftlineError `decode` (whether the type fits the field is `checkReport`'s job).
 *
 * @param base64 - a protocol sketch encoding in base64
 */
export function decodeSketch(base64: string): AnySketch {
  return decodeSketchBytes(fromBase64(base64));
}

/**
 * Decodes a sketch of any type by its tag byte (see {@link decodeSketch}).
 *
 * @param bytes - a protocol sketch encoding
 */
export function decodeSketchBytes(bytes: Uint8Array): AnySketch {
  const decode = DECODERS[bytes[0] ?? -1];
  if (!decode) throw new DriftlineError("decode", `malformed sketch: unknown sketch type ${bytes[0]}`);
  return decode(bytes);
}

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
  if (s instanceof NumericSketch) return s.missing + s.nonFinite + s.quantiles.n;
  if (s instanceof CategoricalSketch) return s.total;
  if (s instanceof ClassificationSketch) return Math.max(sum(s.counts), s.scores.n);
  if (s instanceof LatencySketch) return sum([...s.backends.values()].map((q) => q.n));
  if (s instanceof ErrorCounts) return sum(s.counts.values());
  return sum(s.cells);
}

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
 * and a fixed 1,000 bytes per object (its fields, small arrays, map entry; a numeric sketch is two). `test/unit/collector/memory-estimate.test.ts` checks it
 * against V8's heap. It bounds what an aggregator holds in memory.
 *
 * @param s - any sketch
 */
export function sketchBytes(s: AnySketch): number {
  if (s instanceof NumericSketch) return SKETCH_BYTES + quantileBytes(s.quantiles);
  if (s instanceof CategoricalSketch) return SKETCH_BYTES + s.counts.length * 16 + s.heavy.size * 160;
  if (s instanceof ClassificationSketch) return SKETCH_BYTES + s.counts.length * 16 + quantileBytes(s.scores);
  if (s instanceof LatencySketch) return SKETCH_BYTES + sum([...s.backends.values()].map(quantileBytes));
  if (s instanceof ErrorCounts) return SKETCH_BYTES + s.counts.size * 160;
  return SKETCH_BYTES + s.cells.length * 16;
}

/**
 * Lets go of the growth slack of a sketch's quantile arrays ({@link QuantileSketch.shrink}); its
 * contents stay the same, and {@link sketchBytes} drops to about what it retains.
 *
 * @param s - any sketch
 */
export function shrinkSketch(s: AnySketch): void {
  if (s instanceof NumericSketch) s.quantiles.shrink();
  else if (s instanceof ClassificationSketch) s.scores.shrink();
  else if (s instanceof LatencySketch) for (const q of s.backends.values()) q.shrink();
}

/** Backend or error-code entries past the wire limit fold into this one. */
export const OVERFLOW_KEY = "other";

/**
 * Folds latency `from` into `into`; backends beyond the limit merge into `other`, so an
 * aggregate of many reports never exceeds what one report may hold.
 *
 * @param into - the aggregate's sketch
 * @param from - a report's sketch (same k)
 */
export function mergeLatency(into: LatencySketch, from: LatencySketch): void {
  for (const [backend, q] of from.backends) {
    const key = into.backends.has(backend) || into.backends.size < LIMITS.sketchKeys - 1 ? backend : OVERFLOW_KEY;
    const mine = into.backends.get(key);
    if (mine) mine.merge(q);
    else into.backends.set(key, new QuantileSketch(q.k).merge(q));
  }
}

/**
 * Folds error counts `from` into `into`; codes beyond the limit count under `other`.
 *
 * @param into - the aggregate's counts
 * @param from - a report's counts
 */
export function mergeErrors(into: ErrorCounts, from: ErrorCounts): void {
  for (const [code, n] of from.counts) {
    const key = into.counts.has(code) || into.counts.size < LIMITS.sketchKeys - 1 ? code : OVERFLOW_KEY;
    into.counts.set(key, (into.counts.get(key) ?? 0) + n);
  }
}

/**
 * A copy of `s` that shares no state with it.
 *
 * @param s - any sketch
 */
export function cloneSketch<T extends AnySketch>(s: T): T {
  return mergeSketch(emptyLike(s), s);
}

/**
 * Folds `from` into `into` (same type and parameters, else DriftlineError `sketch_mismatch`).
 *
 * @param into - the sketch that changes
 * @param from - the sketch folded in (unchanged)
 * @returns `into`
 */
export function mergeSketch<T extends AnySketch>(into: T, from: AnySketch): T {
  if (into.constructor !== from.constructor) throw new DriftlineError("sketch_mismatch", "sketches of different types");
  if (into instanceof LatencySketch) mergeLatency(into, from as LatencySketch);
  else if (into instanceof ErrorCounts) mergeErrors(into, from as ErrorCounts);
  else (into as { merge(o: AnySketch): unknown }).merge(from);
  return into;
}

function emptyLike<T extends AnySketch>(s: T): T {
  const empty: AnySketch =
    s instanceof NumericSketch
      ? new NumericSketch({ range: s.range, k: s.quantiles.k })
      : s instanceof CategoricalSketch
        ? new CategoricalSketch(s.categories, s.capacity)
        : s instanceof ClassificationSketch
          ? new ClassificationSketch(s.labels, s.scores.k)
          : s instanceof LatencySketch
            ? new LatencySketch(s.k)
            : s instanceof ErrorCounts
              ? new ErrorCounts()
              : new ConfusionMatrix((s as ConfusionMatrix).labels);
  return empty as T;
}
