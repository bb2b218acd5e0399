import { afterEach, describe, expect, it, vi } from "vitest";
import { describePerformance } from "../../../cli/commands/status.ts";
import { describeShadow } from "../../../protocol/shadow-text.ts";
import { runCli } from "./run-cli.ts";

describe("driftline status: performance line", () => {
  const baseline = { kind: "classification" as const, labelled: 500, accuracy: 0.934, precision: {}, recall: {}, f1: {}, log_loss: 0.2, calibration: { confidence: [], accuracy: [], count: [] } };

  it("puts live accuracy beside the baseline with the difference", () => {
    const live = { labelled: 1234, accuracy: 0.912, precision: {}, recall: {}, f1: {} };
    expect(describePerformance(live, baseline)).toBe("accuracy 0.912 (−0.022) on 1,234 labelled · baseline accuracy 0.934");
  });

  it("adds the accuracy estimated without labels, with its band", () => {
    const estimated = { rows: 5000, accuracy: 0.881, precision: {}, recall: {}, f1: {}, band: { accuracy: [0.86, 0.902] as [number, number], f1: {} } };
    expect(describePerformance(null, baseline, estimated)).toBe("no labels yet · estimated without labels 0.881 (−0.053), band 0.860–0.902, over 5,000 predictions · baseline accuracy 0.934");
  });

  it("says what is missing", () => {
    expect(describePerformance(null, baseline)).toBe("no labels yet · baseline accuracy 0.934");
    const regression = { labelled: 10, residual_mean: 0, residual_p05: -1, residual_p50: 0, residual_p95: 1, mae: 0.5, rmse: 0.7 };
    expect(describePerformance(regression, null)).toBe("MAE 0.500, RMSE 0.700 on 10 labelled · no baseline (a table's profile records one with --target)");
  });
});

describe("driftline status: shadow line", () => {
  it("gives the shadow's class agreement with the live version, or says it has no rows yet", () => {
    expect(describeShadow({ rows: 1211, agree: 1190, agreement: 1190 / 1211, agreement_range: [1090 / 1111, 1] })).toBe(
      "same class on 98.3 % of 1,211 rows (98.1–100.0 % without the heaviest sender)",
    );
    expect(describeShadow({ rows: 30, agree: 30, agreement: 1, agreement_range: null })).toBe("same class on 100.0 % of 30 rows (all from one sender, so not a figure to promote on)");
    expect(describeShadow({ rows: 40, agree: 0, agreement: 0, agreement_range: null }, true)).toBe("ran on 40 rows");
    expect(describeShadow(undefined)).toBe("no rows yet (it runs on sampled rows in the page's idle time and reports with the live version)");
  });
});

describe("driftline status: recent changes", () => {
  afterEach(() => void vi.restoreAllMocks());

  it("says what each change changed", async () => {
    const rollout = { stable: 1, canary: null, shadow: null, sampleRate: 1, logRate: 0, logRetentionDays: 30, configVersion: 1, updatedAt: "2026-12-05T00:15:39.980Z" };
    const audit = [
      { id: 3, model: "fd", keyId: "k1", at: "2026-12-05T00:16:03.453Z", action: "rollout", before: rollout, after: { ...rollout, canary: { version: 2, percent: 50 }, configVersion: 2 } },
      { id: 2, model: "fd", keyId: "k1", at: "2026-12-05T00:15:41.387Z", action: "publish", before: null, after: { version: 2, sha256: "ab", size: 1, publisher: "k1" } },
    ];
    const detail = { name: "fd", app: "demo", createdAt: "2026-12-05T00:15:00.000Z", rollout: null, rollbackTo: null, versions: [], audit };
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json(detail));
    const result = await runCli("status", "fd", "--url", "http://collector.test", "--key", "adm_test");
    expect(result.code, result.stderr).toBe(0);
    // both rows of 'rollout' and 'publish' read alike without it
    expect(result.stdout).toContain("rollout  k1   stable v1 (config 1) → stable v1, canary v2 at 50% (config 2)");
    expect(result.stdout).toMatch(/publish {2}k1 {3}v2\n/);
  });
});
