// Baseline performance against scikit-learn on the same outputs and targets
// (test/fixtures/baseline/make-baseline.py).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BaselineCollector, rocAuc } from "../../../cli/baseline.ts";
import type { BaselinePerformance } from "../../../protocol/schema/profile.ts";
import { pairedLabel } from "../../../protocol/blur.ts";
import { outputSchema } from "../../../protocol/schema/manifest.ts";
import { seededRandom } from "../../../protocol/seeded-random.ts";

interface Case {
  labels?: string[];
  outputs: number[][];
  targets: (string | number)[];
  expected: BaselinePerformance;
}
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/baseline/baseline.json", import.meta.url), "utf8")) as Record<"binary" | "three" | "regression", Case>;

/** The baseline without what label-free estimates need (test/unit/protocol/performance-estimate.test.ts checks that). */
function baselineOf(c: Case): BaselinePerformance | undefined {
  const collector = new BaselineCollector("target", c.labels);
  c.outputs.forEach((output, i) => collector.add(Float32Array.from(output), c.targets[i], () => `row ${i}`));
  const result = collector.result();
  if (result?.kind === "classification") delete result.estimation;
  return result;
}

/** Every number within 1e-7 of scikit-learn's (it renormalises float32 probabilities before the log loss), nulls where it has none. */
function expectClose(got: unknown, want: unknown, path = ""): void {
  if (typeof want === "number") return void expect(got as number, path).toBeCloseTo(want, 7);
  if (want === null || typeof want !== "object") return void expect(got, path).toEqual(want);
  expect(Object.keys(got as object).sort(), path).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) expectClose((got as Record<string, unknown>)[key], value, `${path}.${key}`);
}

describe("baseline performance", () => {
  it.each(["binary", "three", "regression"] as const)("equals scikit-learn on the %s fixture", (name) => {
    expectClose(baselineOf(fixture[name]), fixture[name].expected, name);
  });

  it("takes a class's index for its label, and refuses a target that is neither", () => {
    const c = new BaselineCollector("churned", ["no", "yes"]);
    c.add([0.2, 0.8], "1", () => "line 2");
    c.add([0.9, 0.1], 0, () => "line 3");
    expect(c.result()).toMatchObject({ labelled: 2, accuracy: 1 });
    expect(() => c.add([0.5, 0.5], "maybe", () => "line 4")).toThrow('line 4: target "churned": "maybe" is none of the model\'s classes (no, yes) nor their index');
  });

  it("has no AUC without both classes, and no baseline without targets", () => {
    expect(rocAuc([0.1, 0.9], [true, true])).toBeUndefined();
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [false, true, false, true])).toBe(0.875);
    const c = new BaselineCollector("y", undefined);
    c.add([1], "", () => "line 2");
    expect(c.result()).toBeUndefined();
  });
});

describe("how devices record a regression's labels (the output's step and targets)", () => {
  // a label that shares its recorded value only with values the targets never take is given back
  // by a one-row report: the step is the targets' own, not only a power of ten they are multiples of
  it.each([
    ["half-star ratings", Array.from({ length: 9 }, (_, i) => 1 + i / 2), 0.5],
    ["prices in fives", Array.from({ length: 21 }, (_, i) => 5 * i), 5],
    ["quarter hours", Array.from({ length: 12 }, (_, i) => (i + 1) / 4), 0.25],
    ["odd counts", Array.from({ length: 10 }, (_, i) => 2 * i + 1), 2],
    ["counts", Array.from({ length: 11 }, (_, i) => i), 1],
    ["cents", [0.07, 1.99, 2.5, 3.01, 4.49], 0.01],
    // every target below 0.001: not multiples of 10^6, whose range would hold one value and keep them all
    ["rates in ten-thousandths", Array.from({ length: 9 }, (_, i) => (i + 1) / 1e4), 1e-4],
    // beyond 10^6, the largest power of ten a step is made from: prices in ten millions of yen
    ["prices in ten millions", Array.from({ length: 9 }, (_, i) => (i + 3) * 1e7), 1e7],
    ["multiples of two million", Array.from({ length: 6 }, (_, i) => 2e6 * i), 2e6],
    ["counts above a billion", Array.from({ length: 6 }, (_, i) => 1e9 + i), 1],
    // a Parquet FLOAT column gives each target as its float32 (0.30000001192092896)
    ["tenths from a float32 column", Array.from({ length: 11 }, (_, i) => Math.fround(i / 10)), 0.1],
    ["half-star ratings from a float32 column", Array.from({ length: 9 }, (_, i) => Math.fround(1 + i / 2)), 0.5],
  ] as const)("%s: every target shares its recorded label with another target", (_, values, step) => {
    const c = new BaselineCollector("y", undefined);
    for (const v of values) c.add([0], String(v), () => "row");
    const r = c.recording!;
    const recorded = values.map((v) => pairedLabel(v, r.step, r.targets));
    // prices spread over their cents take their neighbours in the data (not listed here)
    if (step !== 0.01) values.forEach((v, i) => expect(values.filter((_, j) => recorded[j] === recorded[i]).length, `${v} as ${recorded[i]}`).toBeGreaterThanOrEqual(2));
    expect(r.step).toBe(step);
    // and a manifest may say so
    expect(outputSchema.safeParse({ name: "y", kind: "regression", ...r }).success).toBe(true);
  });

  // no power of ten's multiples: without a step, each came back by rounding with its prediction
  it.each([
    ["means of three ratings", Array.from({ length: 13 }, (_, i) => (i + 3) / 3), 1 / 3],
    ["hours counted in minutes", Array.from({ length: 240 }, (_, i) => (i + 1) / 60), 1 / 60],
    ["shares of a week's days", Array.from({ length: 8 }, (_, i) => i / 7), 1 / 7],
    // above 500 every value was within 1e-9 of a multiple of 10^-6
    ["thirds above a thousand", Array.from({ length: 13 }, (_, i) => 1000 + i / 3), 1 / 3],
  ] as const)("%s: every target shares its recorded label with another target", (_, values, step) => {
    const c = new BaselineCollector("y", undefined);
    for (const v of values) c.add([0], v, () => "row");
    const r = c.recording!;
    const recorded = values.map((v) => pairedLabel(v, r.step, r.targets));
    values.forEach((v, i) => expect(values.filter((_, j) => recorded[j] === recorded[i]).length, `${v} as ${recorded[i]}`).toBeGreaterThanOrEqual(2));
    expect(r.step).toBeCloseTo(step, 14);
    expect(outputSchema.safeParse({ name: "y", kind: "regression", ...r }).success).toBe(true);
  });

  it("finds the step of many targets spread over many steps (5,000 durations of up to 1,667 hours, in minutes)", () => {
    const random = seededRandom();
    const c = new BaselineCollector("y", undefined);
    for (let i = 0; i < 5000; i++) c.add([0], Math.round(100_000 * random()) / 60, () => "row");
    expect(c.recording?.step).toBeCloseTo(1 / 60, 14);
  });

  it("finds no step in measurements, nor in few of them", () => {
    const random = seededRandom();
    for (const n of [3, 4, 10, 1000]) {
      const c = new BaselineCollector("y", undefined);
      for (let i = 0; i < n; i++) c.add([0], 100 * random() - 20, () => "row");
      expect(c.recording, `${n} measurements`).toBeUndefined();
    }
  });
});
