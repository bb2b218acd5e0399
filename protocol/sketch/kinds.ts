import { DriftlineError } from "../errors.ts";
import { CategoricalSketch, decodeCategorical } from "./categorical.ts";
import { TAG } from "./codec.ts";
import { ConfusionMatrix, decodeConfusion } from "./confusion.ts";
import { EmbeddingSketch, decodeEmbedding } from "./embedding.ts";
import { ErrorCounts, decodeErrorCounts } from "./error-counts.ts";
import { LatencySketch, decodeLatency } from "./latency.ts";
import { NumericSketch, decodeNumeric } from "./numeric.ts";
import { ClassificationSketch, decodeClassification } from "./prediction.ts";

/** What the registry holds of one sketch kind. */
interface Kind<S> {
  /** Its class. */
  type: abstract new (
    ...args: never[]
  ) => S;
  /** Reads its encoding (the first byte is its {@link TAG}). */
  decode: (bytes: Uint8Array) => S;
  /** A sketch of this kind that holds nothing, with the parameters of `like` (so the two merge). */
  emptyLike: (like: S) => S;
}

const kind = <S>(k: Kind<S>): Kind<S> => k;

/**
 * The registry of the sketch kinds a report carries, by name; each name is also the key of the
 * kind's wire tag in {@link TAG} (`TAG.quantiles` tags a part of other sketches, not a kind).
 * A kind added to `TAG` must be added here (and the other way round), and then the compiler
 * asks for it at every {@link matchSketch} dispatch over any sketch.
 *
 * Past a key limit: a latency or error-count sketch holds at most `LIMITS.sketchKeys` keys
 * (backends, error codes). `update`, `merge` and the decoders count what would take it past that
 * under {@link OVERFLOW_KEY} instead of throwing, on the device and in the collector alike, so
 * any merge of accepted sketches is itself a sketch that decodes; counts are never lost, and only
 * which keys keep their own name depends on merge order (see `keyWithinLimit`).
 */
export const SKETCH_KINDS = {
  numeric: kind({ type: NumericSketch, decode: decodeNumeric, emptyLike: (s) => new NumericSketch({ range: s.range, k: s.quantiles.k }) }),
  categorical: kind({ type: CategoricalSketch, decode: decodeCategorical, emptyLike: (s) => new CategoricalSketch(s.categories, s.capacity) }),
  classification: kind({ type: ClassificationSketch, decode: decodeClassification, emptyLike: (s) => new ClassificationSketch(s.labels, s.scores.k) }),
  latency: kind({ type: LatencySketch, decode: decodeLatency, emptyLike: (s) => new LatencySketch(s.k) }),
  errors: kind({ type: ErrorCounts, decode: decodeErrorCounts, emptyLike: () => new ErrorCounts() }),
  confusion: kind({ type: ConfusionMatrix, decode: decodeConfusion, emptyLike: (s) => new ConfusionMatrix(s.labels) }),
  embedding: kind({ type: EmbeddingSketch, decode: decodeEmbedding, emptyLike: (s) => new EmbeddingSketch(s.dims, s.features) }),
} satisfies Record<Exclude<keyof typeof TAG, "quantiles">, object>;

export { OVERFLOW_KEY } from "./key-limit.ts";

/** The name of a sketch kind. */
export type SketchKind = keyof typeof SKETCH_KINDS;
/** The sketch class of kind `K`. */
export type SketchOf<K extends SketchKind> = ReturnType<(typeof SKETCH_KINDS)[K]["decode"]>;
/** Any sketch a report or an aggregate holds. */
export type AnySketch = SketchOf<SketchKind>;
/** What a feature's slot holds. */
export type FeatureSketch = SketchOf<"numeric" | "categorical">;
/** What a prediction's slot holds: classes, or a value (regression). */
export type PredictionSketch = SketchOf<"classification" | "numeric">;

/**
 * The kind of a sketch, by its class.
 *
 * @param s - a sketch of one of the {@link SKETCH_KINDS}
 */
function kindOf(s: AnySketch): SketchKind {
  let name: SketchKind;
  for (name in SKETCH_KINDS) if (SKETCH_KINDS[name].type === s.constructor) return name;
  throw new DriftlineError("sketch_mismatch", "not a sketch of a known kind");
}

/**
 * Decodes a sketch of any kind by its tag byte; malformed bytes or an unknown tag throw
 * DriftlineError `decode` (whether the kind fits where it was found is the caller's check).
 *
 * @param bytes - a sketch's `encode()`
 */
export function decodeSketch(bytes: Uint8Array): AnySketch {
  let name: SketchKind;
  for (name in SKETCH_KINDS) if (TAG[name] === bytes[0]) return SKETCH_KINDS[name].decode(bytes);
  throw new DriftlineError("decode", `malformed sketch: unknown sketch type ${bytes[0]}`);
}

/**
 * A sketch of the same kind and parameters as `s` that holds nothing.
 *
 * @param s - any sketch (left as it is)
 */
export function emptyLike<S extends AnySketch>(s: S): S {
  return (SKETCH_KINDS[kindOf(s)].emptyLike as (like: AnySketch) => AnySketch)(s) as S;
}

/**
 * Folds `from` into `into`: the kinds must be the same (else DriftlineError `sketch_mismatch`),
 * and so must their parameters (the class's `merge` checks them).
 *
 * @param into - the sketch that changes
 * @param from - the sketch folded in (unchanged)
 * @returns `into`
 */
export function mergeSketch<S extends AnySketch>(into: S, from: AnySketch): S {
  if (into.constructor !== from.constructor) throw new DriftlineError("sketch_mismatch", "sketches of different kinds");
  (into as { merge(other: AnySketch): unknown }).merge(from);
  return into;
}

/**
 * A copy of `s` that shares no state with it.
 *
 * @param s - any sketch
 */
export function cloneSketch<S extends AnySketch>(s: S): S {
  return mergeSketch(emptyLike(s), s);
}

/**
 * Calls the case of `s`'s kind: one function per kind `s` may be (the compiler checks that
 * every kind of its type has one).
 *
 * @param s - a sketch
 * @param cases - a function per kind
 * @example
 * matchSketch(s, { latency: (l) => l.backends.size, errors: (e) => e.counts.size });
 */
export function matchSketch<K extends SketchKind, R>(s: SketchOf<K>, cases: { [P in K]: (s: SketchOf<P>) => R }): R {
  return (cases[kindOf(s) as K] as (s: SketchOf<K>) => R)(s);
}
