import { numericEdges } from "../../protocol/drift/metrics.ts";
import { CategoricalSketch, ClassificationSketch, type FeatureSketch, NumericSketch, type PredictionSketch, pmf } from "../../protocol/sketch/index.ts";
import type { Reference, Sketches } from "./reference.ts";

/**
 * The distributions a drift metric compares, as shares: over the reference's equal-mass bins
 * (numeric: `edges` are the inner edges, the outer bins open) or over categories (`labels`,
 * the last one `other` for a categorical feature's unseen values). `current` is all zeros when
 * there is no current data.
 */
export interface DistributionBins {
  edges?: number[];
  labels?: string[];
  reference: number[];
  current: number[];
}

/** Per feature (and for the prediction) the bins `GET /v1/drift?detail=bins` adds. */
export interface DriftBins {
  features: Record<string, DistributionBins>;
  prediction: DistributionBins | null;
}

/** Counts as shares of their sum (zeros when the sum is 0). */
function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/** The shares of both sides of one reference sketch and its current counterpart. */
function sketchBins(ref: FeatureSketch | PredictionSketch, cur: FeatureSketch | PredictionSketch | undefined, bins: number): DistributionBins {
  if (ref instanceof NumericSketch) {
    const edges = numericEdges(ref, bins);
    const reference = pmf(ref.quantiles, edges);
    const current = cur instanceof NumericSketch && cur.quantiles.n > 0 ? pmf(cur.quantiles, edges) : reference.map(() => 0);
    return { edges, reference, current };
  }
  if (ref instanceof CategoricalSketch) {
    const same = cur instanceof CategoricalSketch ? cur : undefined;
    return {
      labels: [...ref.categories, "other"],
      reference: shares([...ref.counts, ref.other]),
      current: shares(same ? [...same.counts, same.other] : ref.counts.map(() => 0)),
    };
  }
  const same = cur instanceof ClassificationSketch ? cur : undefined;
  return { labels: [...ref.labels], reference: shares(ref.counts), current: shares(same?.counts ?? ref.counts.map(() => 0)) };
}

/**
 * The binned distributions behind PSI, JS and chi-squared: for every reference feature (and the
 * prediction), reference and current shares over the same bins the metrics use — the
 * reference's `bins` equal-mass bins for numerics and regression (a discrete reference's values
 * and the gaps around them: protocol/drift/metrics.ts `numericEdges`), the categories plus `other`
 * for categoricals (missing values left out), the classes for a classification.
 *
 * @param reference - decoded reference profile
 * @param current - merged current sketches
 * @param bins - number of reference bins (the manifest's `drift.bins`, default 10)
 */
export function distributionBins(reference: Reference, current: Sketches, bins: number): DriftBins {
  const features: Record<string, DistributionBins> = {};
  for (const [name, ref] of reference.features) features[name] = sketchBins(ref, current.features.get(name), bins);
  return {
    features,
    prediction: reference.prediction ? sketchBins(reference.prediction, current.prediction, bins) : null,
  };
}
