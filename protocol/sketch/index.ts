/**
 * The sketches only (no zod): what the browser runtime imports.
 */
export { DEFAULT_K, QuantileSketch, type CdfPoints } from "./quantiles.ts";
export { binEdges, cdf, cdfGaps, ksStatistic, pmf, quantile } from "./query.ts";
export { NumericSketch, type NumericOptions } from "./numeric.ts";
export { CategoricalSketch } from "./categorical.ts";
export { ClassificationSketch } from "./prediction.ts";
export { LatencySketch } from "./latency.ts";
export { ErrorCounts } from "./error-counts.ts";
export { ConfusionMatrix } from "./confusion.ts";
export { toBase64, fromBase64 } from "./codec.ts";
