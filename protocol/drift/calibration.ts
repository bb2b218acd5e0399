import type { DriftMetrics } from "../api.ts";
import { CategoricalSketch, type FeatureSketch, NumericSketch, emptyLike, mergeSketch } from "../sketch/index.ts";
import { categoricalMetrics, numericMetrics } from "./metrics.ts";

/** The distances a calibration covers (p-value tests need none: their null distribution is known). */
export const CALIBRATED_METRICS = ["psi", "js", "wasserstein_normed"] as const;

/** A distance a calibration covers. */
export type CalibratedMetric = (typeof CALIBRATED_METRICS)[number];

/** Mean and standard deviation over chunks. */
export type Spread = [mean: number, std: number];

/**
 * How one metric of one feature varies between reference chunks, on its additive scale (PSI as
 * it is; JS and Wasserstein squared: sampling noise adds to them in proportion to 1/n).
 * `sampling`: over random chunks, divided by (1/r − 1/N) — the noise of a sample of r rows
 * against a reference of N that contains it — so it scales to any window size. `natural`: over
 * the chunks the reference was cut into by time (or in order, by size), what is left after the
 * sampling noise of their size: the variation real data shows without drift. [0, 0] when the
 * reference was only cut at random. `floor`: between the reference's sketch and sketches of the
 * same rows merged from other parts — the sketches' own error, which no window size removes.
 */
export interface MetricCalibration {
  sampling: Spread;
  natural: Spread;
  floor: Spread;
}

/** A feature's calibration: one entry per distance that applies to its kind. */
export type FeatureCalibration = Partial<Record<CalibratedMetric, MetricCalibration>>;

/** One chunk of the reference: its rows' sketch. */
export interface Chunk {
  sketch: FeatureSketch;
}

/** The reference cut into chunks. */
export interface ReferenceChunks {
  /** Deals of all the rows into random chunks (at least 2 chunks a deal). */
  deals: readonly (readonly Chunk[])[];
  /** Chunks cut by time or in order (may be empty). */
  ordered: readonly Chunk[];
}

/** How many standard deviations above the chunks' mean a window's metric may go (NannyML's rule). */
export const CALIBRATION_SIGMAS = 3;

/**
 * Values a sketch compares: numeric values present, category values present.
 *
 * @param sketch - a feature sketch
 */
export function valuesCompared(sketch: FeatureSketch): number {
  return sketch instanceof NumericSketch ? sketch.count : sketch.total - sketch.missing;
}

const additive = (metric: CalibratedMetric, value: number) => (metric === "psi" ? value : value * value);
const fromAdditive = (metric: CalibratedMetric, value: number) => (metric === "psi" ? value : Math.sqrt(value));

function spread(values: readonly number[]): Spread {
  if (values.length === 0) return [0, 0];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return [mean, Math.sqrt(variance)];
}

function metricsOf(reference: FeatureSketch, chunk: FeatureSketch, bins: number): DriftMetrics {
  if (reference instanceof NumericSketch && chunk instanceof NumericSketch) return numericMetrics(reference, chunk, bins);
  if (reference instanceof CategoricalSketch && chunk instanceof CategoricalSketch) return categoricalMetrics(reference, chunk);
  throw new TypeError("a chunk's sketch must be of its reference's kind");
}

/**
 * The calibration of one feature from its reference sketch and the sketches of its chunks, each
 * metric computed with the same code the collector judges windows with.
 *
 * @param reference - the whole reference's sketch
 * @param chunks - deals of random chunks (each deal, merged, is the reference sketched again) and ordered chunks
 * @param bins - reference bins, as the manifest's drift settings say
 */
export function calibrateFeature(reference: FeatureSketch, chunks: ReferenceChunks, bins: number): FeatureCalibration {
  const total = valuesCompared(reference);
  const metrics = CALIBRATED_METRICS.filter((m) => m !== "wasserstein_normed" || reference instanceof NumericSketch);
  // a chunk's noise against the reference holding it: 1/r − 1/N (0 for a chunk that is all of it)
  const noise = (sketch: FeatureSketch) => {
    const rows = valuesCompared(sketch);
    return rows > 0 && rows < total ? 1 / rows - 1 / total : 0;
  };
  const scored = (list: readonly Chunk[], whole = false) => list.flatMap(({ sketch }) => (whole || noise(sketch) > 0 ? [{ noise: noise(sketch), metrics: metricsOf(reference, sketch, bins) }] : []));
  const random = scored(chunks.deals.flat());
  const ordered = scored(chunks.ordered);
  const resketched = scored(
    chunks.deals.map((deal) => ({ sketch: mergeAll(deal.map((c) => c.sketch)) })),
    true,
  );
  const out: FeatureCalibration = {};
  for (const metric of metrics) {
    const values = (list: typeof random, value: (g: number, noise: number) => number) => list.flatMap((c) => (c.metrics[metric] == null ? [] : [value(additive(metric, c.metrics[metric]!), c.noise)]));
    const floor = spread(values(resketched, (g) => g));
    const sampling = spread(values(random, (g, n) => g / n));
    const natural = spread(values(ordered, (g, n) => Math.max(0, g - sampling[0] * n - floor[0])));
    out[metric] = { sampling, natural, floor };
  }
  return out;
}

/** A new sketch holding all of `sketches`. */
function mergeAll(sketches: readonly FeatureSketch[]): FeatureSketch {
  const total = emptyLike(sketches[0]!);
  for (const s of sketches) mergeSketch(total, s);
  return total;
}

/**
 * The largest value of a metric a window of `n` compared values may show without drift: the
 * chunks' mean plus {@link CALIBRATION_SIGMAS} standard deviations, of the natural variation, of
 * the sampling noise scaled to the window (1/n + 1/N: a window is independent of the reference)
 * and of the sketches' own error, added on the metric's additive scale.
 *
 * @param calibration - the metric's calibration
 * @param metric - the metric
 * @param n - values the window compares
 * @param referenceValues - values the reference compares (N)
 */
export function calibratedThreshold(calibration: MetricCalibration, metric: CalibratedMetric, n: number, referenceValues: number): number {
  const upper = ([mean, std]: Spread) => mean + CALIBRATION_SIGMAS * std;
  const noise = 1 / Math.max(n, 1) + 1 / Math.max(referenceValues, 1);
  return fromAdditive(metric, upper(calibration.natural) + upper(calibration.sampling) * noise + upper(calibration.floor));
}
