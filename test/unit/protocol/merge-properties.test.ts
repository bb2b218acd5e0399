import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CategoricalSketch, decodeCategorical } from "../../../protocol/sketch/categorical.ts";
import { ConfusionMatrix, decodeConfusion } from "../../../protocol/sketch/confusion.ts";
import { ErrorCounts, decodeErrorCounts } from "../../../protocol/sketch/error-counts.ts";
import { LatencySketch, decodeLatency } from "../../../protocol/sketch/latency.ts";
import { NumericSketch, decodeNumeric } from "../../../protocol/sketch/numeric.ts";
import { ClassificationSketch, decodeClassification } from "../../../protocol/sketch/prediction.ts";
import { QuantileSketch, decodeQuantiles } from "../../../protocol/sketch/quantiles.ts";
import { cdf } from "../../../protocol/sketch/query.ts";
import { countAtMost } from "./datasets.ts";

interface Mergeable<S> {
  merge(other: S): S;
  encode(): Uint8Array;
}

/**
 * Splits `rows` at `cuts`, sketches each part, round-trips it through bytes, and merges the
 * parts in the order `order` as a random binary tree (so both associativity and commutativity
 * are exercised).
 */
function sketchParts<T, S extends Mergeable<S>>(rows: T[], cuts: number[], seed: number, make: () => S, add: (s: S, row: T) => void, decode: (b: Uint8Array) => S): S {
  const bounds = [...new Set([0, ...cuts.map((c) => c % (rows.length + 1)), rows.length])].sort((a, b) => a - b);
  let parts: S[] = [];
  for (let i = 1; i < bounds.length; i++) {
    const s = make();
    for (const row of rows.slice(bounds[i - 1], bounds[i])) add(s, row);
    parts.push(decode(s.encode()));
  }
  if (parts.length === 0) parts = [make()];
  let x = seed >>> 0 || 1;
  while (parts.length > 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    const i = x % parts.length;
    const a = parts.splice(i, 1)[0]!;
    const j = (x >>> 8) % parts.length;
    parts[j] = x & 1 ? a.merge(parts[j]!) : parts[j]!.merge(a);
  }
  return decode(parts[0]!.encode());
}

const split = fc.record({ cuts: fc.array(fc.nat(), { maxLength: 12 }), seed: fc.nat() });
const runs = { numRuns: 60 };

describe("merge is associative and commutative (random partitions, random merge trees)", () => {
  test("numeric: counts, min, max exact; mean and M2 within tolerance; ranks within bound", () => {
    const value = fc.oneof(
      // float32-exact values: encoded items are rounded to float32 (see protocol/README.md)
      { weight: 8, arbitrary: fc.oneof(fc.integer({ min: -2000, max: 2000 }), fc.float({ min: -1e6, max: 1e6, noNaN: true })) },
      { weight: 1, arbitrary: fc.constantFrom(null, undefined, NaN, Infinity, -Infinity) },
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 3000 }), split, split, (rows, s1, s2) => {
        const make = () => new NumericSketch({ range: { min: -1000, max: 1000 } });
        const a = sketchParts(rows, s1.cuts, s1.seed, make, (s, v) => s.update(v), decodeNumeric);
        const b = sketchParts(rows, s2.cuts, s2.seed, make, (s, v) => s.update(v), decodeNumeric);
        const finite = rows.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
        for (const s of [a, b]) {
          expect(s.count).toBe(finite.length);
          expect(s.missing).toBe(rows.filter((v) => v == null).length);
          expect(s.nonFinite).toBe(rows.length - finite.length - s.missing);
          expect(s.outOfRange).toBe(finite.filter((v) => Math.abs(v) > 1000).length);
          if (finite.length === 0) continue;
          expect(s.quantiles.min).toBe(Math.min(...finite) + 0);
          expect(s.quantiles.max).toBe(Math.max(...finite) + 0);
          const mean = finite.reduce((x, y) => x + y, 0) / finite.length;
          const m2 = finite.reduce((x, y) => x + (y - mean) ** 2, 0);
          expect(s.mean).toBeCloseTo(mean, 6);
          expect(Math.abs(s.m2 - m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, m2));
        }
        const sorted = Float64Array.from(finite).sort();
        for (const x of [sorted[0], sorted[sorted.length >> 1], sorted[sorted.length - 1]]) {
          if (x === undefined) continue;
          const exact = countAtMost(sorted, x) / sorted.length;
          expect(Math.abs(cdf(a.quantiles, x) - exact)).toBeLessThanOrEqual(0.02);
          expect(Math.abs(cdf(b.quantiles, x) - exact)).toBeLessThanOrEqual(0.02);
        }
      }),
      runs,
    );
  });

  test("quantile sketch: merge(a, b) and merge(b, a) encode identically", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 2000 }), fc.nat(), (xs, cut) => {
        const at = cut % (xs.length + 1);
        const a = new QuantileSketch();
        const b = new QuantileSketch();
        xs.slice(0, at).forEach((x) => a.update(x));
        xs.slice(at).forEach((x) => b.update(x));
        const ab = decodeQuantiles(a.encode()).merge(decodeQuantiles(b.encode()));
        const ba = decodeQuantiles(b.encode()).merge(decodeQuantiles(a.encode()));
        expect(ab.encode()).toEqual(ba.encode());
        expect(ab.n).toBe(xs.length);
      }),
      runs,
    );
  });

  test("categorical: category, other and missing counts exact; heavy hitters within the Misra–Gries bound", () => {
    const categories = ["a", "b", "c"];
    const value = fc.oneof(fc.constantFrom("a", "b", "c", null), fc.constantFrom("x", "y", "z"), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 2000 }), split, split, (rows, s1, s2) => {
        const make = () => new CategoricalSketch(categories, 4);
        const results = [s1, s2].map((sp) => sketchParts(rows, sp.cuts, sp.seed, make, (s, v) => s.update(v), decodeCategorical));
        const unseen = rows.filter((v): v is string => v !== null && !categories.includes(v));
        for (const s of results) {
          expect(s.counts).toEqual(categories.map((c) => rows.filter((v) => v === c).length));
          expect(s.missing).toBe(rows.filter((v) => v === null).length);
          expect(s.other).toBe(unseen.length);
          for (const key of new Set(unseen)) {
            const truth = unseen.filter((v) => v === key).length;
            const est = s.heavy.get(key) ?? 0;
            expect(est).toBeLessThanOrEqual(truth);
            expect(truth - est).toBeLessThanOrEqual(unseen.length / 5);
          }
        }
      }),
      runs,
    );
  });

  test("classification, latency, error counts and confusion: exact counts", () => {
    const row = fc.record({
      label: fc.nat(2),
      actual: fc.nat(2),
      score: fc.double({ min: 0, max: 1, noNaN: true }),
      backend: fc.constantFrom("wasm", "webgpu"),
      code: fc.constantFrom("validation", "backend", "session"),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 1500 }), split, (rows, sp) => {
        const labels = ["no", "yes", "maybe"];
        const cls = sketchParts(
          rows,
          sp.cuts,
          sp.seed,
          () => new ClassificationSketch(labels),
          (s, r) => s.update(r.label, r.score),
          decodeClassification,
        );
        expect(cls.counts).toEqual([0, 1, 2].map((l) => rows.filter((r) => r.label === l).length));
        expect(cls.scores.n).toBe(rows.length);
        const lat = sketchParts(
          rows,
          sp.cuts,
          sp.seed,
          () => new LatencySketch(),
          (s, r) => s.update(r.backend, r.score * 10),
          decodeLatency,
        );
        for (const b of ["wasm", "webgpu"]) expect(lat.backends.get(b)?.n ?? 0).toBe(rows.filter((r) => r.backend === b).length);
        const errs = sketchParts(
          rows,
          sp.cuts,
          sp.seed,
          () => new ErrorCounts(),
          (s, r) => s.update(r.code),
          decodeErrorCounts,
        );
        for (const c of ["validation", "backend", "session"]) expect(errs.counts.get(c) ?? 0).toBe(rows.filter((r) => r.code === c).length);
        const cm = sketchParts(
          rows,
          sp.cuts,
          sp.seed,
          () => new ConfusionMatrix(labels),
          (s, r) => s.update(r.actual, r.label),
          decodeConfusion,
        );
        for (let a = 0; a < 3; a++) for (let p = 0; p < 3; p++) expect(cm.count(a, p)).toBe(rows.filter((r) => r.actual === a && r.label === p).length);
      }),
      runs,
    );
  });
});
