import { type CalibratedMetric, type FeatureCalibration, calibratedThreshold } from "../../protocol/drift/calibration.ts";
import type { DriftConfig } from "../../protocol/schema/index.ts";
import type { DriftMetrics, DriftTest } from "../../protocol/api.ts";

/** How a feature is tested: numeric values, or counts of categories / predicted classes. */
export type TestedAs = "numeric" | "categorical";

/** Evidently's default thresholds: p-values below, distances at or above, mean drift. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftTest, number>> = {
  ks: 0.05,
  chi2: 0.05,
  psi: 0.1,
  js: 0.1,
  wasserstein: 0.1,
};

/** Reference sizes up to this use the statistical tests; larger ones use distances (Evidently). */
export const SMALL_REFERENCE_ROWS = 1000;

/** Tests that make sense for each way of testing. */
const APPLICABLE: Readonly<Record<TestedAs, readonly DriftTest[]>> = {
  numeric: ["ks", "chi2", "psi", "js", "wasserstein"],
  categorical: ["chi2", "psi", "js"],
};

/** The test chosen for a feature and its threshold. */
export interface TestChoice {
  test: DriftTest;
  threshold: number;
}

/**
 * Evidently's default test: with ≤ 1,000 reference rows KS for numeric and chi-squared for
 * categorical (and for numeric references with ≤ 5 distinct values); above that normalised
 * Wasserstein for numeric and Jensen–Shannon for categorical (and discrete numeric).
 *
 * @param as - how the feature is tested
 * @param referenceRows - rows of the reference profile
 * @param discrete - a numeric reference with ≤ 5 distinct values
 */
export function defaultTest(as: TestedAs, referenceRows: number, discrete = false): DriftTest {
  const small = referenceRows <= SMALL_REFERENCE_ROWS;
  if (as === "numeric" && !discrete) return small ? "ks" : "wasserstein";
  return small ? "chi2" : "js";
}

/** A rule of a manifest's drift settings. */
type Rule = NonNullable<DriftConfig["numeric"]>;

/**
 * The test and threshold for one feature: the manifest's per-feature rule, else its rule for
 * the kind (or the prediction), else the default. A test that does not apply to the kind (KS on
 * categories) is ignored; a threshold without a test applies to the default test.
 *
 * @param as - how the feature is tested
 * @param referenceRows - rows of the reference profile
 * @param discrete - a numeric reference with ≤ 5 distinct values
 * @param rules - the rules that apply, most specific first
 */
export function chooseTest(as: TestedAs, referenceRows: number, discrete: boolean, rules: readonly (Rule | undefined)[]): TestChoice {
  const rule = rules.find((r) => r && (r.test !== undefined || r.threshold !== undefined));
  const wanted = rule?.test;
  const test = wanted && APPLICABLE[as].includes(wanted) ? wanted : defaultTest(as, referenceRows, discrete);
  const threshold = rule?.threshold !== undefined && (wanted === undefined || wanted === test) ? rule.threshold : DEFAULT_THRESHOLDS[test];
  return { test, threshold };
}

/** The metric a distance test reads. */
const DISTANCE_METRIC: Readonly<Record<"psi" | "js" | "wasserstein", CalibratedMetric>> = { psi: "psi", js: "js", wasserstein: "wasserstein_normed" };

/**
 * The calibrated test and threshold for one feature (manifest `drift.verdicts: "calibrated"`):
 * the rule's distance if it names one, else normed Wasserstein for numeric values with more than
 * 5 distinct reference values and Jensen–Shannon for the others, whatever the reference's size;
 * the threshold is what the reference chunks show for a window of `n` values. Undefined when a
 * rule names a p-value test (its null distribution needs no calibration) or the profile has no
 * calibration of that distance: the feature is then judged as {@link chooseTest} says.
 *
 * @param as - how the feature is tested
 * @param discrete - a numeric reference with ≤ 5 distinct values
 * @param rules - the rules that apply, most specific first
 * @param calibration - the feature's calibration
 * @param n - values the window compares
 * @param referenceValues - values the reference compares
 */
export function calibratedChoice(
  as: TestedAs,
  discrete: boolean,
  rules: readonly (Rule | undefined)[],
  calibration: FeatureCalibration | undefined,
  n: number,
  referenceValues: number,
): TestChoice | undefined {
  const wanted = rules.find((r) => r?.test !== undefined && APPLICABLE[as].includes(r.test))?.test;
  if (wanted && isPValueTest(wanted)) return undefined;
  const test = wanted ?? (as === "numeric" && !discrete ? "wasserstein" : "js");
  const entry = calibration?.[DISTANCE_METRIC[test]];
  return entry && { test, threshold: calibratedThreshold(entry, DISTANCE_METRIC[test], n, referenceValues) };
}

/**
 * The value a test judges: the p-value for `ks` and `chi2`, the distance otherwise.
 *
 * @param test - the test
 * @param metrics - the feature's metrics
 */
export function testValue(test: DriftTest, metrics: DriftMetrics): number | null {
  switch (test) {
    case "ks":
      return metrics.ks_pvalue;
    case "chi2":
      return metrics.chi2_pvalue ?? null;
    case "psi":
      return metrics.psi;
    case "js":
      return metrics.js;
    case "wasserstein":
      return metrics.wasserstein_normed;
  }
}

/** Tests whose value is a p-value (drift below the threshold); the others are distances. */
export function isPValueTest(test: DriftTest): test is "ks" | "chi2" {
  return test === "ks" || test === "chi2";
}

/**
 * The p-value a feature is judged by for the adjustment across features: its test's when that is
 * a p-value test; otherwise KS's (numeric values) or chi-squared's (categories, classes).
 *
 * @param test - the feature's test
 * @param metrics - the feature's metrics
 */
export function pValueOf(test: DriftTest, metrics: DriftMetrics): number | null {
  if (isPValueTest(test)) return testValue(test, metrics);
  return metrics.ks_pvalue ?? metrics.chi2_pvalue ?? null;
}

/**
 * Whether a test's value means drift: a p-value below the threshold, or a distance at or above
 * it. No value (no data) is no drift.
 *
 * @param choice - test and threshold
 * @param value - the value the test judges
 */
export function isDrifted(choice: TestChoice, value: number | null): boolean {
  if (value === null) return false;
  return isPValueTest(choice.test) ? value < choice.threshold : value >= choice.threshold;
}
