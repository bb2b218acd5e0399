/**
 * The sketches only (no zod): what the browser runtime imports.
 */
export { DEFAULT_K, QuantileSketch, cdfPoints, decodeQuantiles, type CdfPoints } from "./quantiles.ts";
export { binEdges, cdf, cdfGaps, ksStatistic, pmf, quantile } from "./query.ts";
export { NumericSketch, decodeNumeric, type NumericOptions } from "./numeric.ts";
export { CategoricalSketch, decodeCategorical } from "./categorical.ts";
export { ClassificationSketch, decodeClassification } from "./prediction.ts";
export { BACKENDS, LatencySketch, decodeLatency } from "./latency.ts";
export { ErrorCounts, decodeErrorCounts } from "./error-counts.ts";
export { ConfusionMatrix, decodeConfusion } from "./confusion.ts";
export { EmbeddingSketch, decodeEmbedding } from "./embedding.ts";
export { toBase64, fromBase64 } from "./codec.ts";
export {
  SKETCH_KINDS,
  OVERFLOW_KEY,
  cloneSketch,
  decodeSketch,
  emptyLike,
  matchSketch,
  mergeSketch,
  type AnySketch,
  type FeatureSketch,
  type PredictionSketch,
  type SketchKind,
  type SketchOf,
} from "./kinds.ts";
