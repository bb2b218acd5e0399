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

  it("takes the window in minutes, hours or a day and the period in days, saying what each takes", () => {
    const parse = (flag: string, text: string) => CONFIG_FLAGS.find((f) => f.flag === flag)!.parse(text);
    expect(["90", "90m", "2h", "1d"].map((t) => parse("window", t))).toEqual([90, 90, 120, 1440]);
    expect(() => parse("window", "2d")).toThrow('--window must be whole minutes from 1 to 1440, e.g. 90, 90m, 2h or 1d, got "2d"');
    expect(() => parse("window", "1.5h")).toThrow(/--window must be whole minutes/);
    expect(["30", "30d"].map((t) => parse("period", t))).toEqual([30, 30]);
    expect(() => parse("period", "400d")).toThrow('--period must be whole days from 1 to 365, e.g. 30 or 30d, got "400d"');
  });

  it("takes feature names holding a comma in quotes, as CSV writes them, and shows them so", () => {
    const flag = CONFIG_FLAGS.find((f) => f.flag === "feature-drift")!;
    expect(flag.parse('"price, usd",tenure')).toEqual(["price, usd", "tenure"]);
    expect(flag.show(["price, usd", "tenure"] as never)).toBe('drift of "price, usd", tenure');
    expect(() => flag.parse('"price, usd')).toThrow('--feature-drift: a quoted name is not closed: "price, usd');
  });
});
