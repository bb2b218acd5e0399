import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KEPT_BITS, blurValue } from "../../../protocol/blur.ts";
import { NumericSketch, ksStatistic } from "../../../protocol/sketch/index.ts";
import { KS_PAIRS, exactKs, generate } from "./datasets.ts";

describe("blurValue: what sketches record instead of an input", () => {
  // within float32's range: sketch items are float32, so larger values are ±Infinity there anyway
  it("never records an input itself, not even after float32 rounding, and stays within 0.1 % of it", () => {
    const check = (v: number) => {
      const b = blurValue(v);
      expect(Math.fround(b)).not.toBe(Math.fround(v));
      expect(Math.abs(b - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -KEPT_BITS, 2 ** -40));
    };
    for (let i = -1000; i <= 1000; i++) check(i);
    [0, 0.5, 0.1, 1e-300, 3e38, 2 ** 30, -(2 ** -20), 120, 18, 99].forEach(check);
    fc.assert(fc.property(fc.double({ noNaN: true, min: -3e38, max: 3e38 }), check), { numRuns: 20_000, seed: 5 });
  });

  it("is the same everywhere (a fixed grid), so reference and live data move alike", () => {
    expect(blurValue(42)).toBe(blurValue(42));
    expect([NaN, Infinity, -Infinity].map(blurValue)).toEqual([NaN, Infinity, -Infinity]);
  });

  it("keeps the sketches' KS within 0.015 of the exact KS of the raw data (the accuracy promise), ties included", () => {
    const sketch = (xs: Float64Array) => {
      const s = new NumericSketch();
      for (const x of xs) s.update(x, blurValue(x));
      return s.quantiles;
    };
    for (const [a, seedA, b, seedB] of KS_PAIRS) {
      for (const n of [1e3, 1e5]) {
        const da = generate(a, n, seedA);
        const db = generate(b, n, seedB).map((x) => x * 1.02 + 0.5);
        const exact = exactKs(da.slice().sort(), db.slice().sort());
        expect(Math.abs(ksStatistic(sketch(da), sketch(db)) - exact), `${a} vs ${b} n=${n}`).toBeLessThanOrEqual(0.015);
      }
    }
    // the same data on both sides, ties and all: no drift from blurring
    const same = generate("duplicates", 1e4, 3);
    expect(ksStatistic(sketch(same), sketch(same.slice()))).toBe(0);
  });
});
