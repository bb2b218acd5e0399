// No zod here: the dashboard imports this (the type import is erased).
import type { DriftMetrics, DriftTest } from "./api.ts";

/** What each drift test's score is called, in the dashboard and in alert messages. */
export const DRIFT_TEST_NAMES: Readonly<Record<DriftTest, string>> = {
  ks: "KS p-value",
  chi2: "χ² p-value",
  psi: "PSI",
  js: "Jensen–Shannon",
  wasserstein: "Wasserstein (normed)",
};

/** The metric each drift test judges, among a feature's `metrics` (of all the values, untrimmed). */
export const DRIFT_TEST_METRICS: Readonly<Record<DriftTest, keyof DriftMetrics>> = {
  ks: "ks_pvalue",
  chi2: "chi2_pvalue",
  psi: "psi",
  js: "js",
  wasserstein: "wasserstein_normed",
};
