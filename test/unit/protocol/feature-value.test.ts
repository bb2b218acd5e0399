import { describe, expect, it } from "vitest";
import { featureValue, writeFeature } from "../../../protocol/row-encoding.ts";
import type { Feature } from "../../../protocol/schema/manifest.ts";

const numeric = (extra: Partial<Feature>): Feature => ({ name: "x", kind: "numeric", input: "in", index: 0, range: { min: 0, max: 10 }, policy: "impute", impute: 5, ...extra });
const plan = (extra: Partial<Feature>): Feature => ({
  name: "plan",
  kind: "categorical",
  input: "in",
  index: 0,
  categories: ["basic", "pro"],
  encoding: "onehot",
  policy: "impute",
  impute: "basic",
  ...extra,
});

/** The value and whether it counted as a violation. */
function feed(f: Feature, value: unknown): { value: number; violation: boolean } | string {
  let violation = false;
  try {
    return { value: featureValue(f)(value, () => (violation = true)), violation };
  } catch (err) {
    return (err as Error).message;
  }
}

describe("featureValue: one encoder for the runtime and the profiler", () => {
  it("feeds values in the schema as they are and missing ones by the policy", () => {
    expect(feed(numeric({}), 3)).toEqual({ value: 3, violation: false });
    expect(feed(numeric({}), null)).toEqual({ value: 5, violation: true });
    expect(feed(numeric({ nullable: true }), null)).toEqual({ value: NaN, violation: false });
    expect(feed(numeric({ nullable: true }), "3")).toEqual({ value: 5, violation: true });
    expect(feed(numeric({}), 12)).toEqual({ value: 12, violation: false });
    expect(feed(numeric({ policy: "clamp" }), 12)).toEqual({ value: 10, violation: true });
    expect(feed(numeric({ policy: "reject" }), 12)).toBe('feature "x": 12 is out of its range [0, 10]');
    expect(feed(numeric({ policy: "reject" }), "3")).toBe('feature "x": 3 (string) is not a finite float32');
    expect(feed(numeric({ policy: "reject" }), undefined)).toBe('feature "x": missing');
    expect(feed(plan({ policy: "reject" }), "team")).toBe('feature "plan": team (string) is not one of its categories');
  });

  it("takes a number past float32's range (a sentinel Number.MAX_VALUE, 1e200) as no number: the model would be fed ±Infinity", () => {
    const open = { range: undefined, policy: "reject" as const };
    expect(feed(numeric(open), 3.4e38)).toEqual({ value: 3.4e38, violation: false });
    expect(feed(numeric(open), 1e200)).toBe('feature "x": 1e+200 (number) is not a finite float32');
    expect(feed(numeric(open), -Number.MAX_VALUE)).toBe(`feature "x": ${-Number.MAX_VALUE} (number) is not a finite float32`);
    expect(feed(numeric({ range: undefined }), 1e200)).toEqual({ value: 5, violation: true });
  });

  it("feeds an unknown category as the impute value, or as none under ignore (scikit-learn's handle_unknown)", () => {
    expect(feed(plan({}), "pro")).toEqual({ value: 1, violation: false });
    expect(feed(plan({}), "team")).toEqual({ value: 0, violation: true });
    expect(feed(plan({ policy: "ignore" }), "team")).toEqual({ value: -1, violation: false });
    expect(feed(plan({ policy: "ignore" }), null)).toEqual({ value: 0, violation: false });
    expect(feed(plan({ nullable: true }), null)).toEqual({ value: -1, violation: false });
    const row = [9, 9];
    writeFeature(plan({}), -1, row, 2, 0);
    expect(row).toEqual([0, 0]);
  });
});
