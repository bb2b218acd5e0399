// No zod here: the dashboard imports this (the type import is erased).
import type { DriftTest } from "./api.ts";

/** What each drift test's score is called, in the dashboard and in alert messages. */
export const DRIFT_TEST_NAMES: Readonly<Record<DriftTest, string>> = {
  ks: "KS p-value",
  chi2: "χ² p-value",
  psi: "PSI",
  js: "Jensen–Shannon",
  wasserstein: "Wasserstein (normed)",
};
