import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KEPT_BITS, blurValue, narrowestCell, pairedLabel, valueStep } from "../../../protocol/blur.ts";
import { NumericSketch, QuantileSketch, ksStatistic } from "../../../protocol/sketch/index.ts";
import { churnColumns, churnRows, churnTreeModel } from "../../fixtures/runtime-models.ts";
import { treeEnsembleReference } from "../../fixtures/onnx-models.ts";
import { KS_PAIRS, exactKs, generate, rng } from "./datasets.ts";

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

  it("takes the cell of the value's own power of two, also just below one (where Math.log2 rounds up)", () => {
    for (const k of [-20, -1, 0, 5, 30]) {
      const v = 2 ** k * (1 - 2 ** -53); // in [2^(k-1), 2^k)
      const cell = 2 ** (k - 1 - KEPT_BITS);
      expect(blurValue(v), `2^${k} − 1 ulp`).toBe((Math.floor(v / cell - 0.381966) + 0.381966 + 0.5) * cell);
    }
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

  it("is not applied to outputs: it would set live tree scores apart from every profile of exact ones (docs/privacy.md)", () => {
    /** Distinct top scores of a tree ensemble over 5,000 rows, and KS between them exact and blurred. */
    const apart = (rounds: number, depth: number) => {
      const { ensemble } = churnTreeModel("trees", rounds, depth);
      const top = treeEnsembleReference(ensemble, churnRows(5000).map(churnColumns)).map((p) => Math.fround(Math.max(...p)));
      const exact = new QuantileSketch();
      const blurred = new QuantileSketch();
      for (const score of top) {
        exact.update(score);
        blurred.update(blurValue(score));
      }
      return [new Set(top).size, +ksStatistic(exact, blurred).toFixed(3)];
    };
    // the fewer distinct scores, the more apart: prediction drift with no change in the data
    expect([apart(1, 3), apart(3, 3), apart(100, 6)]).toEqual([
      [34, 0.12],
      [249, 0.035],
      [720, 0.012],
    ]);
  });
});

describe("the narrowest cell: whole numbers, cents and the like cannot be rounded back", () => {
  it("finds a feature's step: the largest power of ten every value is a multiple of", () => {
    expect(valueStep([3, 17, 42, null, NaN, 0])).toBe(1);
    expect(valueStep([1200, 3000, -500])).toBe(100);
    expect(valueStep([0.5, 2.25, 19.99])).toBe(0.01);
    expect(valueStep([0.1 + 0.2, 0.7])).toBe(0.1);
    expect(valueStep([14.127, Math.PI])).toBeUndefined();
    expect(valueStep([0, 0, null])).toBeUndefined();
    // values below 0.001 are no multiples of 10^6 (a cell of 2^21 would hold them all)
    expect(valueStep([0.0005, -0.0002, 0])).toBe(1e-4);
    expect(valueStep([1e-7, 3e-7])).toBeUndefined();
    // the step as written in a manifest: 1e-4, not 10 ** -4 (0.00009999999999999999)
    expect([valueStep([0.0015, 0.0025]), valueStep([0.00015])]).toEqual([1e-4, 1e-5]);
    // float32 values (a Parquet FLOAT column) of cents and tenths: the float32 of a multiple is one
    expect(valueStep(Float32Array.from([0.5, 2.25, 19.99]))).toBe(0.01);
    expect(valueStep(Float32Array.from([0.1, 0.7, 12.3]))).toBe(0.1);
    expect(valueStep(Float32Array.from([14.127, Math.PI]))).toBeUndefined();
    expect([1, 0.01, 0.5, 100, undefined].map(narrowestCell)).toEqual([2, 2 ** -5, 1, 256, 0]);
  });

  it("records every value as that of two or more multiples of its step, within one cell of it", () => {
    for (const step of [1, 0.01, 0.1, 100]) {
      const cell = narrowestCell(step);
      const recorded = new Map<number, number[]>();
      for (let k = -3000; k <= 3000; k++) {
        const v = Math.round(k) * step;
        const b = Math.fround(blurValue(v, cell));
        expect(Math.fround(b)).not.toBe(Math.fround(v));
        expect(Math.abs(b - v)).toBeLessThanOrEqual(Math.max(cell, Math.abs(v) * 2 ** -KEPT_BITS));
        recorded.set(b, [...(recorded.get(b) ?? []), v]);
      }
      // the range's two ends may sit alone in a cell cut by the range
      const alone = [...recorded.values()].filter((vs) => vs.length < 2);
      expect(alone.length, `step ${step}`).toBeLessThanOrEqual(2);
    }
  });

  it("keeps KS within 0.015 of the exact KS of whole numbers, cents and small counts", () => {
    const lognormal = (r: () => number) => Math.exp(1 + 1.2 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
    const pairs: [string, (r: () => number) => number, (r: () => number) => number][] = [
      ["ages", (r) => Math.floor(18 + 60 * r()), (r) => Math.floor(22 + 60 * r())],
      ["counts", (r) => Math.floor(lognormal(r)), (r) => Math.floor(1.3 * lognormal(r))],
      ["cents", (r) => Math.round(100 * (5 + 20 * r())) / 100, (r) => Math.round(100 * (6 + 20 * r())) / 100],
      ["0 to 5", (r) => Math.floor(6 * r()), (r) => Math.floor(6 * r() ** 1.3)],
    ];
    for (const [name, a, b] of pairs) {
      for (const n of [1e3, 1e5]) {
        const [ra, rb] = [rng(11), rng(23)];
        const da = Float64Array.from({ length: n }, () => a(ra));
        const db = Float64Array.from({ length: n }, () => b(rb));
        const cell = narrowestCell(valueStep(da));
        const sketch = (xs: Float64Array) => {
          const s = new NumericSketch();
          for (const x of xs) s.update(x, blurValue(x, cell));
          return s.quantiles;
        };
        const exact = exactKs(da.slice().sort(), db.slice().sort());
        expect(Math.abs(ksStatistic(sketch(da), sketch(db)) - exact), `${name} n=${n}`).toBeLessThanOrEqual(0.015);
      }
    }
  });
});

describe("pairedLabel: a regression's label as devices record it", () => {
  it("shares every value the targets can take with one or two others, also at the ends of their range", () => {
    for (const step of [1, 0.01, 5, 0.5, 0.25])
      for (const min of [-3, 0, 1, 7])
        for (let n = 3; n <= 12; n++) {
          const targets = { min: min * step, max: (min + n - 1) * step };
          // the range and four values beyond each end
          const values = Array.from({ length: n + 8 }, (_, k) => (min - 4 + k) * step);
          const cells = new Map<number, number[]>();
          for (const v of values) cells.set(pairedLabel(v, step, targets), [...(cells.get(pairedLabel(v, step, targets)) ?? []), v]);
          const inRange = (v: number) => v >= targets.min && v <= targets.max;
          for (const [recorded, members] of cells) {
            const where = `step ${step}, range ${targets.min}–${targets.max}, cell ${recorded}: ${members}`;
            // a cell holds values of the range only, or of beyond it only: never one alone with impossible ones
            expect(members.every(inRange) || !members.some(inRange), where).toBe(true);
            // cut at the listed values' ends, cells beyond may hold one; inside, two or three
            if (members.every(inRange)) expect(members.length, where).toBeGreaterThanOrEqual(2);
            expect(members.length, where).toBeLessThanOrEqual(3);
          }
        }
  });

  it("keeps a label of two-valued targets (a class), and one that is not a number", () => {
    expect(pairedLabel(1, 1, { min: 0, max: 1 })).toBe(1);
    expect(pairedLabel(Number.NaN, 1, { min: 0, max: 9 })).toBeNaN();
    expect(pairedLabel(4, 1, { min: 1, max: 5 })).toBe(4);
    expect(pairedLabel(1, 1, { min: 1, max: 5 })).toBe(1.5);
    // off the step: the nearest value's cell
    expect(pairedLabel(2.4, 1, { min: 1, max: 5 })).toBe(1.5);
  });

  it("records a label below a range of one value as the middle of its pair, as below any range", () => {
    expect([1, 2, -1, 0].map((v) => pairedLabel(v, 1, { min: 3, max: 3 }))).toEqual([1.5, 1.5, -0.5, -0.5]);
    expect([1, 2].map((v) => pairedLabel(v, 1, { min: 3, max: 4 }))).toEqual([1.5, 1.5]);
  });
});
