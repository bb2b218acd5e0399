import { type CategoricalSketch, type ClassificationSketch, type NumericSketch, type QuantileSketch, binEdges, cdfPoints, ksStatistic, pmf } from "../sketch/index.ts";
import type { DriftMetrics } from "../api.ts";
import { chiSquaredPValue, jensenShannon, psi } from "./binned.ts";
import { ksPValue } from "./kolmogorov.ts";
import { trimGap, trimShares } from "./sender-trim.ts";
import { sketchStd, wasserstein1 } from "./wasserstein.ts";

/** A standard deviation below this is treated as this, as Evidently does, so constants do not divide by 0. */
const MIN_STD = 0.001;
/** A numeric reference with at most this many distinct values is tested as discrete (Evidently). */
const DISCRETE_VALUES = 5;

/** JSON has no NaN or Infinity: they become null. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * Metrics of two quantile sketches: KS and its p-value, PSI, JS and chi-squared over the
 * reference's bins (`edges`, inner edges), and Wasserstein-1 over `std`; with `trim`, of the current side
 * with that share trimmed off (./sender-trim.ts: gaps and shares trimmed, counts scaled).
 */
function quantileMetrics(ref: QuantileSketch, cur: QuantileSketch, edges: readonly number[], std: number, trim: number): DriftMetrics {
  const refShares = pmf(ref, edges);
  const curShares = trimShares(refShares, pmf(cur, edges), trim);
  const kept = cur.n * (1 - trim);
  const d = trimGap(ksStatistic(ref, cur), trim);
  return {
    ks: finite(d),
    ks_pvalue: finite(ksPValue(d, ref.n, kept)),
    psi: finite(psi(refShares, curShares)),
    js: finite(jensenShannon(refShares, curShares)),
    wasserstein_normed: finite(wasserstein1(ref, cur, trim) / Math.max(std, MIN_STD)),
    chi2_pvalue: finite(
      chiSquaredPValue(
        refShares,
        curShares.map((s) => s * kept),
      ),
    ),
  };
}

/**
 * Drift metrics of a numeric feature (or regression prediction), normalising Wasserstein by the
 * reference's population std from its exact moments (numpy's `np.std`, as Evidently).
 *
 * @param ref - reference sketch
 * @param cur - current sketch
 * @param bins - number of reference bins
 * @param trim - share of the current values trimmed off as one sender's (./sender-trim.ts)
 */
export function numericMetrics(ref: NumericSketch, cur: NumericSketch, bins: number, trim = 0): DriftMetrics {
  if (ref.count === 0 || cur.count === 0) return emptyMetrics(false);
  return quantileMetrics(ref.quantiles, cur.quantiles, numericEdges(ref, bins), Math.sqrt(ref.m2 / ref.count), trim);
}

/**
 * The distinct values of a discrete reference ({@link isDiscrete}) among its retained items,
 * ascending; undefined for one that is not (the scan stops at the first value too many).
 */
function discreteValues(ref: NumericSketch): number[] | undefined {
  if (ref.count === 0) return undefined;
  const { values } = cdfPoints(ref.quantiles);
  const distinct: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && values[i] === values[i - 1]) continue;
    if (distinct.push(values[i]!) > DISCRETE_VALUES) return undefined;
  }
  return distinct;
}

/**
 * Whether a numeric reference has so few distinct values that Evidently would test it as
 * categorical (≤ 5 distinct values).
 *
 * @param ref - the reference sketch
 */
export function isDiscrete(ref: NumericSketch): boolean {
  return discreteValues(ref) !== undefined;
}

/**
 * The inner bin edges a numeric feature is compared on: the reference's `bins` equal-mass bins,
 * or for a discrete reference ({@link isDiscrete}) a bin of each of its values and one of each
 * gap below, between and above them — so a value the reference never had is counted apart, as
 * Evidently counts a discrete feature's values. (Equal-mass edges of a reference of one value
 * all sit on it: every value below it shared its bin, and a width of 32 against a reference of
 * 48 was no drift.)
 *
 * A value's bin spans {@link VALUE_TOLERANCE} of it either side: a sketch keeps its items as
 * float32 but its min and max as float64, and the CDF is 0 below the min and 1 from the max.
 *
 * @param ref - the reference sketch
 * @param bins - number of equal-mass bins of a reference that is not discrete
 */
export function numericEdges(ref: NumericSketch, bins: number): number[] {
  const values = discreteValues(ref);
  if (!values) return binEdges(ref.quantiles, bins);
  return values.flatMap((v) => {
    const tolerance = Math.abs(v) * VALUE_TOLERANCE || Number.MIN_VALUE;
    return [v - tolerance, v + tolerance];
  });
}

/**
 * How far, relative to a value, one recorded value's float32 and float64 forms may lie apart
 * (2^-24) and below how far two recorded values always lie (the privacy grid's 2^-10,
 * protocol/blur.ts): 2^-16.
 */
const VALUE_TOLERANCE = 2 ** -16;

/**
 * Metrics of category counts: chi-squared of current counts against reference shares, PSI and
 * JS over the categories, unseen share (untrimmed). The last entry of each list may be an
 * `other` bucket. With `trim`, of the current shares with that share trimmed off.
 */
function countMetrics(refCounts: readonly number[], curCounts: readonly number[], unseen: number | null, trim: number): DriftMetrics {
  const refTotal = refCounts.reduce((a, b) => a + b, 0);
  const curTotal = curCounts.reduce((a, b) => a + b, 0);
  if (refTotal === 0 || curTotal === 0) return emptyMetrics(unseen !== null);
  const refShares = refCounts.map((c) => c / refTotal);
  const curShares = trimShares(
    refShares,
    curCounts.map((c) => c / curTotal),
    trim,
  );
  const kept = curTotal * (1 - trim);
  return {
    ks: null,
    ks_pvalue: null,
    psi: finite(psi(refShares, curShares)),
    js: finite(jensenShannon(refShares, curShares)),
    wasserstein_normed: null,
    chi2_pvalue: finite(chiSquaredPValue(refShares, trim > 0 ? curShares.map((s) => s * kept) : curCounts)),
    ...(unseen === null ? {} : { unseen_share: finite(unseen / curTotal) }),
  };
}

/**
 * Drift metrics of a categorical feature; unseen values are one extra `other` category, and
 * missing values are left out (Evidently drops NaN).
 *
 * @param ref - reference sketch
 * @param cur - current sketch
 * @param trim - share of the current values trimmed off as one sender's (./sender-trim.ts)
 */
export function categoricalMetrics(ref: CategoricalSketch, cur: CategoricalSketch, trim = 0): DriftMetrics {
  return countMetrics([...ref.counts, ref.other], [...cur.counts, cur.other], cur.other, trim);
}

/**
 * Drift metrics of a classification prediction: chi-squared, PSI and JS of the predicted class
 * counts; KS and normalised Wasserstein of the top-class scores.
 *
 * @param ref - reference prediction sketch
 * @param cur - current prediction sketch
 * @param bins - number of reference bins for the score metrics
 * @param trim - share of the current values trimmed off as one sender's (./sender-trim.ts)
 */
export function classificationMetrics(ref: ClassificationSketch, cur: ClassificationSketch, bins: number, trim = 0): DriftMetrics {
  const counts = countMetrics(ref.counts, cur.counts, null, trim);
  if (ref.scores.n === 0 || cur.scores.n === 0) return counts;
  const scores = quantileMetrics(ref.scores, cur.scores, binEdges(ref.scores, bins), sketchStd(ref.scores), trim);
  return { ...counts, ks: scores.ks, ks_pvalue: scores.ks_pvalue, wasserstein_normed: scores.wasserstein_normed };
}

/**
 * Drift metrics of a classifier's normalised output entropy: those of a numeric feature, from the
 * two sketches' entropy quantiles.
 *
 * @param ref - reference prediction sketch
 * @param cur - current prediction sketch
 * @param bins - number of reference bins
 * @param trim - share of the current values trimmed off as one sender's (./sender-trim.ts)
 */
export function entropyMetrics(ref: ClassificationSketch, cur: ClassificationSketch, bins: number, trim = 0): DriftMetrics {
  if (ref.entropy.n === 0 || cur.entropy.n === 0) return emptyMetrics(false);
  return quantileMetrics(ref.entropy, cur.entropy, binEdges(ref.entropy, bins), sketchStd(ref.entropy), trim);
}

/**
 * Metrics when a side has no data: every metric null.
 *
 * @param categorical - whether the feature is categorical (it then also has an unseen share)
 */
export function emptyMetrics(categorical: boolean): DriftMetrics {
  const none = { ks: null, ks_pvalue: null, psi: null, js: null, wasserstein_normed: null, chi2_pvalue: null };
  return categorical ? { ...none, unseen_share: null } : none;
}
