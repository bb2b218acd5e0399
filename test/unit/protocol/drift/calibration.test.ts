// Calibrated thresholds on the no-drift fixtures of test/fixtures/drift/make-fixtures.py: windows of
// 100 to 100,000 rows drawn from the reference's own distribution are flagged at most 5 % of the time.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type CalibratedMetric, type Chunk, type ReferenceChunks, calibrateFeature, calibratedThreshold, valuesCompared } from "../../../../protocol/drift/calibration.ts";
import { categoricalMetrics, isDiscrete, numericMetrics } from "../../../../protocol/drift/metrics.ts";
import { CategoricalSketch, type FeatureSketch, NumericSketch, decodeCategorical, decodeNumeric } from "../../../../protocol/sketch/index.ts";
import { sketchInParts } from "../../../fixtures/sketch-parts.ts";
import { rng } from "../datasets.ts";

type Case = { name: string; kind: "numeric"; reference: string } | { name: string; kind: "categorical"; categories: string[]; reference: Record<string, number> };
const fixtures = JSON.parse(readFileSync(new URL("../../../fixtures/drift/drift-fixtures.json", import.meta.url), "utf8")) as { cases: Case[] };

const BINS = 10;
const WINDOW_SIZES = [100, 1_000, 10_000, 100_000];
const WINDOWS = 60;

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const choice = <T>(r: () => number, values: T[], p: number[]) => {
  let u = r();
  for (let i = 0; i < values.length; i++) if ((u -= p[i]!) < 0) return values[i]!;
  return values[values.length - 1]!;
};

/** The distribution each no-drift fixture's rows were drawn from (make-fixtures.py). */
const DRAW: Record<string, (r: () => number) => number | string> = {
  "no-drift-large": (r) => 5 + 2 * normal(r),
  "no-drift-small": (r) => 10 + 3 * normal(r),
  "discrete-no-drift-large": (r) => choice(r, [1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1]),
  "categorical-no-drift-large": (r) => choice(r, ["basic", "plus", "pro", "team", "enterprise", "edu"], [0.35, 0.25, 0.15, 0.12, 0.08, 0.05]),
  "categorical-no-drift-small": (r) => choice(r, ["desktop", "mobile", "tablet", "tv"], [0.5, 0.35, 0.1, 0.05]),
};

function referenceRows(c: Case): (number | string)[] {
  if (c.kind === "categorical") return Object.entries(c.reference).flatMap(([value, n]) => Array<string>(n).fill(value));
  const bytes = Buffer.from(c.reference, "base64");
  return [...new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))];
}

/** A sketch of rows as a fleet reports them: in parts, encoded, decoded and merged. */
function sketchOf(c: Case, rows: (number | string)[], parts: number): FeatureSketch {
  if (c.kind === "numeric") return sketchInParts(rows as number[], parts, () => new NumericSketch(), decodeNumeric);
  return sketchInParts(rows as string[], parts, () => new CategoricalSketch(c.categories), decodeCategorical);
}

/** Rows dealt at random into `k` chunks, `times` times over. */
function chunksOf(c: Case, rows: (number | string)[], k: number, times: number, r: () => number): ReferenceChunks {
  const dealt: (number | string)[][] = Array.from({ length: k * times }, () => []);
  for (const row of rows) for (let t = 0; t < times; t++) dealt[t * k + Math.floor(r() * k)]!.push(row);
  const random: Chunk[] = dealt.map((chunk) => ({ sketch: sketchOf(c, chunk, 1) }));
  return { deals: Array.from({ length: times }, (_, t) => random.slice(t * k, (t + 1) * k)), ordered: [] };
}

describe("calibrated thresholds on the no-drift fixtures", () => {
  const cases = fixtures.cases.filter((c) => c.name in DRAW);

  it.each(cases.map((c) => ({ name: c.name, c })))("$name: ≤ 5 % of windows of 100 to 100,000 rows flagged", ({ name, c }) => {
    const r = rng(2026 + name.length);
    const rows = referenceRows(c);
    const reference = sketchOf(c, rows, 1);
    const calibration = calibrateFeature(reference, chunksOf(c, rows, 10, 4, r), BINS);
    const metric: CalibratedMetric = reference instanceof NumericSketch && !isDiscrete(reference) ? "wasserstein_normed" : "js";
    const flagged: Record<number, number> = {};
    for (const size of WINDOW_SIZES) {
      flagged[size] = 0;
      for (let w = 0; w < WINDOWS; w++) {
        const window = sketchOf(
          c,
          Array.from({ length: size }, () => DRAW[name]!(r)),
          20,
        );
        const metrics = reference instanceof NumericSketch ? numericMetrics(reference, window as NumericSketch, BINS) : categoricalMetrics(reference as CategoricalSketch, window as CategoricalSketch);
        const threshold = calibratedThreshold(calibration[metric]!, metric, valuesCompared(window), valuesCompared(reference));
        if (metrics[metric]! >= threshold) flagged[size]++;
      }
    }
    // windows are seeded: the run is the same every time (0 to 2 of 60 per size when written)
    for (const size of WINDOW_SIZES) expect(flagged[size]! / WINDOWS, `${size} rows: ${JSON.stringify(flagged)}`).toBeLessThanOrEqual(0.05);
  });
});
