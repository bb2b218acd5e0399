import { describe, expect, it } from "vitest";
import { shortScore, testScore, verdictBasis } from "../../../dashboard/drift-score.ts";
import type { FeatureDrift } from "../../../dashboard/types.ts";

/** A KS verdict on 700 values, its p-value 0.2 untrimmed but 0.01 with one sender's 14 % left out. */
const trimmed: FeatureDrift = {
  kind: "numeric",
  count: 700,
  test: "ks",
  threshold: 0.05,
  drifted: true,
  value: 0.01,
  sender_share: 0.14,
  p_value: 0.01,
  p_adjusted: 0.02,
  metrics: { ks: 0.08, ks_pvalue: 0.2, psi: 0.1, js: 0.05, wasserstein_normed: 0.1 },
};

describe("the dashboard's drift score", () => {
  it("is the value the verdict was taken on, not the untrimmed metric", () => {
    expect(testScore(trimmed)).toBe(0.01);
    expect(verdictBasis(trimmed)).toBe("KS p-value 0.01 against 0.05, 14% of the values (the heaviest sender's share) left out; 0.2 on all of them");
  });

  it("gives the untrimmed value beside a trimmed one, the figure scipy gives on the raw rows", () => {
    // a third of an hour's flights with distance in km: 4.3e-4 with 6 % left out, 0.204 on all the
    // values (numpy: 0.201); the line said only 4.3e-4, which no one can check against their own figure
    const units = { ...trimmed, test: "wasserstein" as const, value: 0.00043, sender_share: 0.06, threshold: 0.0423, drifted: false, metrics: { ...trimmed.metrics, wasserstein_normed: 0.204 } };
    expect(verdictBasis(units)).toBe("Wasserstein (normed) 4.3e-4 against 0.0423, 6% of the values (the heaviest sender's share) left out; 0.204 on all of them");
  });

  it("is the metric when the collector gave no verdict, and nothing without data", () => {
    expect(testScore({ ...trimmed, value: null, drifted: false })).toBe(0.2);
    expect(verdictBasis({ ...trimmed, value: null, drifted: false })).toBe("KS p-value 0.2 against 0.05");
    expect(testScore({ ...trimmed, count: 0 })).toBeNull();
  });

  it("reads a p-value of 0 as below what a double holds, never as 0, and a distance of 0 as 0", () => {
    expect(verdictBasis({ ...trimmed, value: 0, metrics: { ...trimmed.metrics, ks_pvalue: 0 } })).toBe(
      "KS p-value <1e-300 against 0.05, 14% of the values (the heaviest sender's share) left out; <1e-300 on all of them",
    );
    expect(verdictBasis({ ...trimmed, test: "psi", value: 0, sender_share: 0, threshold: 0.1 })).toBe("PSI 0 against 0.1");
  });

  it("says nothing of trimming when no values were left out", () => {
    expect(verdictBasis({ ...trimmed, test: "psi", value: 0.3, sender_share: 0, threshold: 0.1 })).toBe("PSI 0.3 against 0.1");
  });

  it("fits a heatmap cell: two digits, tiny scores of any test as <0.001", () => {
    expect(shortScore("js", 0.0163)).toBe("0.016");
    // a prediction's Jensen–Shannon distance of 9.8e-6 read "0.0000098", wider than its column
    expect(shortScore("js", 0.0000098)).toBe("<0.001");
    expect(shortScore("ks", 2.9e-21)).toBe("<0.001");
    expect(shortScore("ks", 0)).toBe("<0.001");
    expect(shortScore("wasserstein", 0)).toBe("0");
  });
});
