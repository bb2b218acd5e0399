import type { DriftTest, FeatureDrift } from "./types.ts";

/** What the dashboard shows of one drift test: the metric it judges, and whether low means drift. */
const TESTS: Record<DriftTest, { metric: keyof FeatureDrift["metrics"]; label: string; pvalue: boolean }> = {
  ks: { metric: "ks_pvalue", label: "KS p-value", pvalue: true },
  chi2: { metric: "chi2_pvalue", label: "χ² p-value", pvalue: true },
  psi: { metric: "psi", label: "PSI", pvalue: false },
  js: { metric: "js", label: "Jensen–Shannon", pvalue: false },
  wasserstein: { metric: "wasserstein_normed", label: "Wasserstein (normed)", pvalue: false },
};

/**
 * The score a feature's verdict rests on (the chosen test's metric), null without data.
 *
 * @param f - the feature's drift
 */
export function testScore(f: FeatureDrift): number | null {
  return f.count > 0 ? (f.metrics[TESTS[f.test].metric] ?? null) : null;
}

/**
 * A score short enough for a heatmap cell: p-values below 0.001 read "<0.001".
 *
 * @param test - the test
 * @param score - its score
 */
export function shortScore(test: DriftTest, score: number): string {
  return TESTS[test].pvalue && score < 0.001 ? "<0.001" : Number(score.toPrecision(2)).toString();
}

/** The name of a test's score, e.g. "KS p-value". */
export function testLabel(test: DriftTest): string {
  return TESTS[test].label;
}
