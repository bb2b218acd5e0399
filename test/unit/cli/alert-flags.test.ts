import { describe, expect, it } from "vitest";
import { CONFIG_FLAGS, configRows } from "../../../cli/alert-flags.ts";
import type { AlertConfigAnswer } from "../../../protocol/schema/alert-config.ts";

const watched = (config: Partial<AlertConfigAnswer>) => configRows({ model: "delay", webhook: null, ...config } as AlertConfigAnswer, CONFIG_FLAGS).map(([flag]) => flag);

describe("driftline alerts: the conditions watched", () => {
  it("lists the error budget period only beside an objective it is the period of", () => {
    // drift and accuracy alerts only: the stored default period (30 days) read as a condition watched
    const drift = { datasetDrift: 0.5, featureDrift: ["*"], sloPeriodDays: 30, accuracyDrop: 0.05, minLabelled: 100 };
    expect(watched(drift)).toEqual(["--dataset-drift", "--feature-drift", "--accuracy-drop", "--min-labelled"]);
    expect(watched({ ...drift, errorRate: 0.01 })).toEqual(["--dataset-drift", "--feature-drift", "--error-rate", "--period", "--accuracy-drop", "--min-labelled"]);
  });
});
