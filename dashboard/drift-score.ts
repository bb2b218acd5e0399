import { DRIFT_TEST_METRICS, DRIFT_TEST_NAMES } from "../protocol/drift-test-names.ts";
import { num, percent } from "./format.ts";
import type { DriftTest, FeatureDrift } from "./types.ts";

/** Whether a test's score is a p-value (low means drift). */
const isPValue = (test: DriftTest): boolean => test === "ks" || test === "chi2";

/**
 * The score a feature's verdict rests on: the test's value with the heaviest sender's share
 * trimmed off, as the collector compared it with `threshold`; the untrimmed metric when the
 * collector gave no verdict; null without data.
 *
 * @param f - the feature's drift
 */
export function testScore(f: FeatureDrift): number | null {
  if (f.count === 0) return null;
  return f.value ?? f.metrics[DRIFT_TEST_METRICS[f.test]] ?? null;
}

/**
 * What a verdict was taken on, for a tooltip: "KS p-value 0.012 against 0.05, 14% of the values
 * (the heaviest sender's share) left out; 0.2 on all of them".
 *
 * @param f - the feature's drift, with data
 */
export function verdictBasis(f: FeatureDrift): string {
  const trimmed =
    f.value !== null && f.sender_share > 0
      ? `, ${percent(f.sender_share, 0)} of the values (the heaviest sender's share) left out; ${scoreText(f.test, f.metrics[DRIFT_TEST_METRICS[f.test]] ?? null)} on all of them`
      : "";
  return `${testLabel(f.test)} ${scoreText(f.test, testScore(f))} against ${num(f.threshold)}${trimmed}`;
}

/** A score for a tooltip: a p-value of 0 (below what a double holds) reads "<1e-300", as no p-value is 0. */
const scoreText = (test: DriftTest, score: number | null): string => (score === 0 && isPValue(test) ? "<1e-300" : num(score));

/**
 * A score short enough for a heatmap cell: two significant digits, and any score below 0.001
 * (a p-value of 0 too, but not a distance of 0) reads "<0.001", never "0.0000098".
 *
 * @param test - the test
 * @param score - its score
 */
export function shortScore(test: DriftTest, score: number): string {
  return score < 0.001 && (score > 0 || isPValue(test)) ? "<0.001" : Number(score.toPrecision(2)).toString();
}

/** The name of a test's score, e.g. "KS p-value". */
export function testLabel(test: DriftTest): string {
  return DRIFT_TEST_NAMES[test];
}
