import { DDSketch } from "@datadog/sketches-js";
import { describe, expect, test } from "vitest";
import { NumericSketch } from "../../../protocol/sketch/numeric.ts";
import { QuantileSketch, decodeQuantiles } from "../../../protocol/sketch/quantiles.ts";
import { cdf, ksStatistic, quantile } from "../../../protocol/sketch/query.ts";
import { DATASETS, KS_PAIRS, countAtMost, exactKs, generate } from "./datasets.ts";
import { sketchInParts } from "../../fixtures/sketch-parts.ts";

/** Probe ranks 0.01 … 0.99. */
const PROBES = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);

/** Sketch `data` in `parts` contiguous parts, each encoded, decoded and merged in; the total round-trips too. */
function sketchQuantiles(data: Float64Array, parts: number): QuantileSketch {
  return decodeQuantiles(sketchInParts(data, parts, () => new QuantileSketch(), decodeQuantiles).encode());
}

/**
 * Largest normalised rank error over the probes, both ways: the sketch's CDF at exact
 * quantiles, and the exact rank interval of the sketch's quantiles.
 */
function rankError(sorted: Float64Array, estimate: { cdf?(x: number): number; quantile(q: number): number }): number {
  const n = sorted.length;
  let err = 0;
  for (const q of PROBES) {
    const x = sorted[Math.min(n - 1, Math.floor(q * n))]!;
    if (estimate.cdf) err = Math.max(err, Math.abs(estimate.cdf(x) - countAtMost(sorted, x) / n));
    const v = estimate.quantile(q);
    const below = countAtMost(sorted, v - Math.abs(v) * 1e-9 - 1e-300) / n;
    const atMost = countAtMost(sorted, v) / n;
    err = Math.max(err, q < below ? below - q : q > atMost ? q - atMost : 0);
  }
  return err;
}

const SIZES = [1e3, 1e5, 1e6];
const PARTS = [1, 10, 1000];

const results: Record<string, unknown>[] = [];

describe("KLL accuracy: datasets × sizes × parts", () => {
  for (const name of Object.keys(DATASETS)) {
    test(name, () => {
      for (const n of SIZES) {
        const data = generate(name, n, 7);
        const sorted = data.slice().sort();
        for (const parts of PARTS) {
          const s = sketchQuantiles(data, parts);
          const err = rankError(sorted, { cdf: (x) => cdf(s, x), quantile: (q) => quantile(s, q) });
          const numeric = new NumericSketch();
          numeric.quantiles.merge(s);
          const bytes = numeric.encode().length;
          results.push({ name, n, parts, rankError: err, bytes });
          expect(err, `${name} n=${n} parts=${parts}`).toBeLessThanOrEqual(0.01);
          if (n === 1e6) expect(bytes).toBeLessThanOrEqual(2500);
        }
      }
    });
  }

  test("KS from two sketches is within 0.015 of the exact KS", () => {
    for (const [a, seedA, b, seedB] of KS_PAIRS) {
      for (const n of [1e3, 1e5]) {
        const da = generate(a, n, seedA);
        const db = generate(b, n, seedB).map((x) => x * 1.02 + 0.5);
        const exact = exactKs(da.slice().sort(), db.slice().sort());
        const est = ksStatistic(sketchQuantiles(da, 10), sketchQuantiles(db, 100));
        results.push({ ks: `${a}~${b}`, n, exact, sketch: est, error: Math.abs(est - exact) });
        expect(Math.abs(est - exact), `${a} vs ${b} n=${n}`).toBeLessThanOrEqual(0.015);
      }
    }
  });

  test("DDSketch (1% relative value accuracy) for comparison: rank error and bytes", () => {
    for (const name of Object.keys(DATASETS)) {
      const data = generate(name, 1e5, 7);
      const sorted = data.slice().sort();
      const dd = new DDSketch({ relativeAccuracy: 0.01 });
      for (const x of data) dd.accept(x);
      const ddErr = rankError(sorted, {
        quantile: (q) => dd.getValueAtQuantile(q),
      });
      const kll = sketchQuantiles(data, 1);
      results.push({
        compare: name,
        n: 1e5,
        ddsketchRankError: ddErr,
        ddsketchBytes: dd.toProto().length,
        kllRankError: rankError(sorted, { cdf: (x) => cdf(kll, x), quantile: (q) => quantile(kll, q) }),
        kllBytes: kll.encode().length,
      });
    }
    if (process.env.SKETCH_RESULTS) console.log(JSON.stringify(results, null, 1));
  });
});
