// Issue 17 item 2: the statistics `run(feeds)` reports of each tensor a manifest names equal
// numpy's on the same data (fixture test/fixtures/tensors/make-tensor-stats.py): the mean,
// population std, min and max of the finite elements and the share of non-finite ones.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TENSOR_STATS, describeTensor, describeTensors, tensorStatFeatures } from "../../../protocol/preprocess/tensor-stats.ts";
import { blurValue } from "../../../protocol/blur.ts";

interface Case {
  name: string;
  dtype: "float32" | "float64" | "int64";
  data: Array<number | null | "Infinity" | "-Infinity">;
  stats: number[] | null;
}
const { cases } = JSON.parse(readFileSync(new URL("../../fixtures/tensors/tensor-stats.json", import.meta.url), "utf8")) as { cases: Case[] };

/** The case's elements as onnxruntime holds them: a Float32Array, Float64Array or BigInt64Array. */
function tensorData(c: Case): ArrayLike<unknown> {
  const values = c.data.map((v) => (v === null ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v));
  if (c.dtype === "int64") return BigInt64Array.from(values, (v) => BigInt(v));
  return c.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
}

describe("tensor statistics", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: numpy's mean, std, min, max and non-finite share", (_, c) => {
    const got = describeTensor(tensorData(c));
    const expected = c.stats ?? [NaN, NaN, NaN, NaN, 1];
    got.forEach((v, i) => {
      if (Number.isNaN(expected[i]!)) return expect(v, TENSOR_STATS[i]).toBeNaN();
      expect(Math.abs(v - expected[i]!), `${TENSOR_STATS[i]}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[i]!)));
    });
  });

  it("counts booleans as 0 and 1, and gives an empty or string tensor no statistics", () => {
    const [mean, std, ...rest] = describeTensor([true, false, true, true]);
    expect([mean, rest]).toEqual([0.75, [0, 1, 0]]);
    expect(std).toBeCloseTo(Math.sqrt(0.1875), 12);
    expect(describeTensor(new Float32Array(0))).toEqual([NaN, NaN, NaN, NaN, NaN]);
    expect(describeTensor(["a", "b"])).toEqual([NaN, NaN, NaN, NaN, NaN]);
  });

  it("answers a call's statistics tensor by tensor, in feature order, NaN for a tensor the call lacks", () => {
    const values = describeTensors(["output", "input"], { input: { data: Float32Array.of(1, 3) }, output: undefined });
    expect(values.slice(0, 5)).toEqual([NaN, NaN, NaN, NaN, NaN]);
    expect(values.slice(5)).toEqual([2, 1, 1, 3, 0]);
  });

  it("gives no token ids back: the statistics of three tokens, as a report of one run() call records them, are another three's too", () => {
    // every multiset of three token ids of a vocabulary of 11 (0 the padding), as runtime/report-builder.ts
    // Accumulator.describe records a call's statistics
    const seen = new Map<string, number[][]>();
    for (let a = 0; a <= 10; a++)
      for (let b = a; b <= 10; b++)
        for (let c = b; c <= 10; c++) {
          const recorded = describeTensors(["input_ids"], { input_ids: { data: BigInt64Array.of(BigInt(a), BigInt(b), BigInt(c)) } }).map((v) => blurValue(v));
          const key = JSON.stringify(recorded);
          seen.set(key, [...(seen.get(key) ?? []), [a, b, c]]);
        }
    // only padding alone is alone, as 0 is for a feature of step 1
    const alone = [...seen.values()].filter((ids) => ids.length === 1).map(([ids]) => ids);
    expect(alone).toEqual([[0, 0, 0]]);
  });

  it("names five numeric features per tensor", () => {
    expect(tensorStatFeatures(["input", "output"]).map((f) => f.name)).toEqual([
      "input.mean",
      "input.std",
      "input.min",
      "input.max",
      "input.nonFinite",
      "output.mean",
      "output.std",
      "output.min",
      "output.max",
      "output.nonFinite",
    ]);
  });
});
