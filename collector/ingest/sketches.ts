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
  toBase64,
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
  const bytes = fromBase64(base64);
  const decode = DECODERS[bytes[0] ?? -1];
  if (!decode) throw new DriftlineError("decode", `malformed sketch: unknown sketch type ${bytes[0]}`);
  return decode(bytes);
}

/**
 * Base64 of a sketch's encoding.
 *
 * @param s - any sketch
 */
export function encodeSketch(s: AnySketch): string {
  return toBase64(s.encode());
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
