// Performance without labels (CBPE) against the same estimate computed by numpy/scikit-learn from
// the raw rows (test/fixtures/cbpe/make-cbpe.py): the reference fitted as `driftline profile
// --target` fits it, each window folded into the classification sketch the runtime sends.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BaselineCollector } from "../../../cli/baseline.ts";
import { bandHalfWidth, type EstimatedQuality, estimateQuality, fitConfidenceCurve } from "../../../protocol/performance-estimate.ts";
import type { Estimation } from "../../../protocol/schema/profile.ts";
import { ClassificationSketch, decodeClassification } from "../../../protocol/sketch/index.ts";
import { CONFIDENCE_BINS, confidenceBin, normalisedEntropy, addProbabilities } from "../../../protocol/sketch/prediction.ts";
import { TAG, encodeWith, writeCounts } from "../../../protocol/sketch/codec.ts";

interface Quality {
  accuracy: number;
  log_loss?: number;
  precision: Record<string, number | null>;
  recall: Record<string, number | null>;
  f1: Record<string, number | null>;
  roc_auc?: number;
}
interface Window {
  outputs: number[][];
  targets: string[];
  estimated: Quality;
  nannyml_like: Quality;
  realised: Quality;
}
interface Case {
  labels: string[];
  reference: { outputs: number[][]; targets: string[] };
  windows: Record<string, Window>;
}
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/cbpe/cbpe.json", import.meta.url), "utf8")) as Record<"digits" | "cancer", Case>;

/** The profile's fit over the reference rows, as `driftline profile --target` makes it. */
function estimationOf(c: Case): Estimation {
  const collector = new BaselineCollector("target", c.labels);
  c.reference.outputs.forEach((output, i) => collector.add(Float32Array.from(output), c.reference.targets[i], () => `row ${i}`));
  const baseline = collector.result();
  if (baseline?.kind !== "classification" || !baseline.estimation) throw new Error("no estimation");
  return baseline.estimation;
}

/** A window as the collector sees it: the sketch the runtime builds, through its wire format. */
function estimateOf(c: Case, w: Window, estimation: Estimation): EstimatedQuality {
  const sketch = new ClassificationSketch(c.labels);
  for (const output of w.outputs) addProbabilities(sketch, Float32Array.from(output));
  const estimate = estimateQuality(c.labels, estimation, decodeClassification(sketch.encode()).confidence);
  if (!estimate) throw new Error("no estimate");
  return estimate;
}

const cases = Object.entries(fixture).flatMap(([name, c]) => Object.keys(c.windows).map((window) => [name, window] as const));

describe("performance estimated without labels", () => {
  it.each(cases)("%s, %s window: equals numpy's estimate from the raw rows (accuracy, precision, recall, F1 within 1e-9)", (name, window) => {
    const c = fixture[name as keyof typeof fixture];
    const w = c.windows[window]!;
    const got = estimateOf(c, w, estimationOf(c));
    expect(got.rows).toBe(w.outputs.length);
    expect(got.accuracy).toBeCloseTo(w.estimated.accuracy, 9);
    for (const part of ["precision", "recall", "f1"] as const) {
      for (const label of c.labels) {
        const want = w.estimated[part][label];
        if (want === null) expect(got[part][label], `${part} ${label}`).toBeNull();
        else expect(got[part][label], `${part} ${label}`).toBeCloseTo(want!, 9);
      }
    }
    expect(got.log_loss).toBeCloseTo(w.estimated.log_loss!, 9);
    // the bins tie rows numpy orders one by one
    if (w.estimated.roc_auc !== undefined) expect(Math.abs(got.roc_auc! - w.estimated.roc_auc)).toBeLessThan(0.01);
    // binning the scores costs little against an isotonic fit on the raw scores (NannyML's way)
    expect(Math.abs(got.accuracy - w.nannyml_like.accuracy)).toBeLessThan(0.01);
  });

  it.each(["digits", "cancer"] as const)("%s: the shifted window's true accuracy drops 5 points or more, and the estimate drops with it", (name) => {
    const c = fixture[name];
    const estimation = estimationOf(c);
    const unshifted = c.windows.unshifted!;
    const shifted = c.windows.shifted!;
    expect(unshifted.realised.accuracy - shifted.realised.accuracy).toBeGreaterThanOrEqual(0.05);
    const before = estimateOf(c, unshifted, estimation).accuracy;
    const after = estimateOf(c, shifted, estimation).accuracy;
    expect(before - after).toBeGreaterThanOrEqual(0.05);
    // realised minus estimated, before and after: the estimate follows within 4 points
    expect(Math.abs(shifted.realised.accuracy - after)).toBeLessThan(0.04);
  });

  it("estimates a binary classifier's log loss within 0.04 of the realised one, shifted or not", () => {
    const c = fixture.cancer;
    const estimation = estimationOf(c);
    for (const w of Object.values(c.windows)) expect(Math.abs(estimateOf(c, w, estimation).log_loss! - w.realised.log_loss!)).toBeLessThan(0.04);
  });

  it.each(["digits", "cancer"] as const)("%s: the unshifted window's realised accuracy lies within the estimate's band", (name) => {
    const c = fixture[name];
    const estimation = estimationOf(c);
    const w = c.windows.unshifted!;
    const got = estimateOf(c, w, estimation);
    const half = bandHalfWidth(estimation.band.accuracy, estimation.band.rows, got.rows);
    expect(half).toBeGreaterThan(0);
    expect(Math.abs(w.realised.accuracy - got.accuracy)).toBeLessThanOrEqual(half);
  });

  it("fits a non-decreasing curve by pooling violators, interpolating bins without rows", () => {
    const rows = [10, 0, 10, 10, 0, 0, 20];
    const right = [6, 0, 4, 8, 0, 0, 19];
    // 0.6 and 0.4 pool to 0.5; bin 1 lies between bins 0 and 2; bins 4–5 between 0.8 and 0.95
    expect(fitConfidenceCurve(rows, right)).toEqual([0.5, 0.5, 0.5, 0.8, 0.85, 0.9, 0.95].map((v) => expect.closeTo(v, 12)));
    expect(fitConfidenceCurve([0, 0], [0, 0])).toBeNull();
  });
});

describe("the classification sketch's confidence bins", () => {
  it("bins −log10(1 − score) in eighths of a decade over four decades", () => {
    expect([0, 0.5, 0.91, 0.991, 0.9991, 0.99991, 1].map(confidenceBin)).toEqual([0, 2, 8, 16, 24, 31, 31]);
    expect(confidenceBin(-3)).toBe(0);
  });

  it("reads sketches of formats 1 (before the bins) and 2 (before the entropy) with those parts empty, which merge with new ones", () => {
    const s = new ClassificationSketch(["no", "yes"]);
    addProbabilities(s, [0.1, 0.9]);
    const old = (format: 1 | 2) =>
      decodeClassification(
        encodeWith(TAG.classification, format, (w) => {
          w.strs(s.labels);
          writeCounts(w, s.counts);
          s.scores.write(w);
          if (format === 2) writeCounts(w, s.confidence);
        }),
      );
    const [v1, v2] = [old(1), old(2)];
    expect([v1.counts, v2.counts]).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(v1.confidence.every((n) => n === 0)).toBe(true);
    expect([v1.entropy.n, v2.entropy.n, v2.confidence[CONFIDENCE_BINS + confidenceBin(0.9)]]).toEqual([0, 0, 1]);
    expect(v1.merge(decodeClassification(s.encode())).confidence[CONFIDENCE_BINS + confidenceBin(0.9)]).toBe(1);
    expect(v2.merge(decodeClassification(s.encode())).entropy.n).toBe(1);
  });

  it("refuses a sketch with more binned scores than predictions of a class", () => {
    const s = new ClassificationSketch(["no", "yes"]);
    addProbabilities(s, [0.1, 0.9]);
    s.confidence[0] = 5; // class "no": never predicted, 5 scores binned
    expect(() => decodeClassification(s.encode())).toThrow(/class 0: 5 scores binned of 0 predictions/);
  });
});

describe("the classification sketch's entropy", () => {
  it("normalises each output's entropy to 0–1 as scipy.stats.entropy(p) / ln K does", () => {
    // scipy 1.10: entropy(p / p.sum()) / log(len(p))
    const cases: Array<[number[], number]> = [
      [[0.6, 0.4, 0], 0.6126016192893442],
      [[0.6, 0.2, 0.2], 0.8649735207179272],
      [[1 / 3, 1 / 3, 1 / 3], 1],
      [[0.9, 0.1], 0.46899559358928117],
      [[2, 1, 1], 0.946394630357186],
    ];
    for (const [p, expected] of cases) expect(normalisedEntropy(p)).toBeCloseTo(expected, 12);
    expect([normalisedEntropy([1]), normalisedEntropy([0, 0]), normalisedEntropy([Number.NaN, 1])]).toEqual([Number.NaN, Number.NaN, Number.NaN]);
    // a vector inside a longer array (a batch's output)
    expect(normalisedEntropy([9, 0.6, 0.2, 0.2, 9], 1, 3)).toBeCloseTo(0.8649735207179272, 12);
  });

  it("sketches each prediction's entropy and merges it", () => {
    const a = new ClassificationSketch(["a", "b", "c"]);
    addProbabilities(a, [0.6, 0.4, 0]);
    const b = new ClassificationSketch(["a", "b", "c"]);
    addProbabilities(b, [0.6, 0.2, 0.2]);
    const merged = decodeClassification(a.merge(b).encode());
    expect([merged.entropy.n, merged.entropy.min, merged.entropy.max]).toEqual([2, normalisedEntropy([0.6, 0.4, 0]), normalisedEntropy([0.6, 0.2, 0.2])]);
  });

  it("refuses entropies outside 0–1 and more entropies than predictions", () => {
    const s = new ClassificationSketch(["no", "yes"]);
    s.update(1, 0.9, 1.5);
    expect(() => decodeClassification(s.encode())).toThrow(/entropy outside 0–1/);
    const t = new ClassificationSketch(["no", "yes"]);
    t.update(1, 0.9, 0.5);
    t.entropy.update(0.4);
    expect(() => decodeClassification(t.encode())).toThrow(/2 entropies of 1 predictions/);
  });
});
