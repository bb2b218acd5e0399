import { describe, expect, it } from "vitest";
import { computeDrift } from "../../../../collector/drift/index.ts";
import { numericEdges } from "../../../../protocol/drift/metrics.ts";
import { blurValue } from "../../../../protocol/blur.ts";
import { recordedDescriptors } from "../../../../protocol/preprocess/descriptors.ts";
import { chooseTest, defaultTest, isDrifted } from "../../../../collector/drift/test-choice.ts";
import { CategoricalSketch, ClassificationSketch, NumericSketch, decodeNumeric, pmf } from "../../../../protocol/sketch/index.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

describe("test choice", () => {
  it("follows Evidently's defaults by reference size", () => {
    expect(defaultTest("numeric", 1000)).toBe("ks");
    expect(defaultTest("numeric", 1001)).toBe("wasserstein");
    expect(defaultTest("categorical", 1000)).toBe("chi2");
    expect(defaultTest("categorical", 1001)).toBe("js");
    expect(defaultTest("numeric", 500, true)).toBe("chi2");
    expect(defaultTest("numeric", 5000, true)).toBe("js");
  });

  it("takes the most specific override and ignores tests that do not apply", () => {
    expect(chooseTest("numeric", 5000, false, [{ test: "psi", threshold: 0.2 }, { test: "ks" }])).toEqual({ test: "psi", threshold: 0.2 });
    expect(chooseTest("numeric", 5000, false, [undefined, { threshold: 0.3 }])).toEqual({ test: "wasserstein", threshold: 0.3 });
    expect(chooseTest("categorical", 5000, false, [{ test: "ks", threshold: 0.01 }])).toEqual({ test: "js", threshold: 0.1 });
  });

  it("reads p-values as drift below and distances as drift at or above the threshold", () => {
    expect(isDrifted({ test: "ks", threshold: 0.05 }, 0.049)).toBe(true);
    expect(isDrifted({ test: "chi2", threshold: 0.05 }, 0.05)).toBe(false);
    expect(isDrifted({ test: "js", threshold: 0.1 }, 0.1)).toBe(true);
    expect(isDrifted({ test: "wasserstein", threshold: 0.1 }, null)).toBe(false);
  });
});

describe("computeDrift", () => {
  const ref = new NumericSketch();
  const cur = new NumericSketch();
  for (let i = 0; i < 2000; i++) {
    ref.update(i % 100);
    cur.update((i % 100) + 30);
  }

  it("applies the manifest's per-feature rule and reports empty features as not drifted", () => {
    const reference = {
      rows: 2000,
      features: new Map([
        ["a", ref],
        ["b", ref],
      ]),
    };
    const result = computeDrift(reference, { features: new Map([["a", cur]]) }, { features: { a: { test: "psi", threshold: 5 } } });
    expect(result.features.a).toMatchObject({ kind: "numeric", count: 2000, test: "psi", drifted: false });
    expect(result.features.b).toMatchObject({ count: 0, drifted: false, metrics: { ks: null, psi: null } });
    expect(result.dataset).toEqual({ drifted_share: 0, drifted: false });
  });

  it("judges a classification prediction on its class counts and scores", () => {
    const labels = ["no", "yes"];
    const r = new ClassificationSketch(labels);
    const c = new ClassificationSketch(labels);
    for (let i = 0; i < 500; i++) {
      addProbabilities(r, i % 4 === 0 ? [0.2, 0.8] : [0.7, 0.3]);
      addProbabilities(c, i % 2 === 0 ? [0.1, 0.9] : [0.6, 0.4]);
    }
    const result = computeDrift({ rows: 500, features: new Map(), prediction: r }, { features: new Map(), prediction: c });
    expect(result.prediction).toMatchObject({ kind: "classification", count: 500, test: "chi2", drifted: true });
    expect(result.prediction!.metrics.ks).toBeGreaterThan(0.2);
  });

  it("counts unseen categories", () => {
    const r = new CategoricalSketch(["a", "b"]);
    const c = new CategoricalSketch(["a", "b"]);
    for (let i = 0; i < 100; i++) {
      r.update(i % 2 ? "a" : "b");
      c.update(i % 4 === 0 ? "z" : i % 2 ? "a" : "b");
      c.update(null);
    }
    const f = computeDrift({ rows: 100, features: new Map([["x", r]]) }, { features: new Map([["x", c]]) }).features.x!;
    expect(f).toMatchObject({ kind: "categorical", count: 100, test: "chi2", drifted: true });
    expect(f.metrics.unseen_share).toBe(0.25);
    expect(f.metrics.chi2_pvalue).toBe(0);
  });

  it("sees a discrete numeric feature take a value the reference never had, below, between or above its values", () => {
    // an image's width from a camera of one resolution, a frame's duration, a 1–3 rating
    const judged = (reference: number[], current: number[]) => {
      const [r, c] = [new NumericSketch(), new NumericSketch()];
      for (let i = 0; i < 300; i++) r.update(reference[i % reference.length]!);
      for (let i = 0; i < 300; i++) c.update(current[i % current.length]!);
      const f = computeDrift({ rows: 300, features: new Map([["x", r]]) }, { features: new Map([["x", c]]) }).features.x!;
      return { test: f.test, drifted: f.drifted, psi: f.metrics.psi! > 1 };
    };
    const drifted = { test: "chi2", drifted: true, psi: true };
    expect([judged([48], [32]), judged([48], [64])]).toEqual([drifted, drifted]);
    expect([judged([1, 2, 3], [0]), judged([1, 2, 3], [1.5]), judged([1, 2, 3], [2.5, 3])]).toEqual([drifted, drifted, drifted]);
    expect(judged([1, 2, 3], [3, 2, 1])).toEqual({ test: "chi2", drifted: false, psi: false });
  });

  it("bins a discrete reference's recorded values with the value, though a sketch keeps its items as float32 and its range as float64", () => {
    // an image's descriptors as devices and driftline profile record them (cli/media-profiler.ts)
    const sketch = (descriptor: string, sizes: Array<[width: number, height: number]>) => {
      const s = new NumericSketch();
      for (const [width, height] of sizes) {
        const d: Record<string, number> = { width, height, aspect: width / height };
        s.update(d[descriptor], blurValue(recordedDescriptors(d)[descriptor]!));
      }
      // as the collector reads profiles and reports: items float32, the range float64
      return decodeNumeric(s.encode());
    };
    const aspect = sketch("aspect", Array(200).fill([48, 40]));
    const width = sketch("width", Array(200).fill([48, 40]));
    const shares = (ref: NumericSketch, cur: NumericSketch) => pmf(cur.quantiles, numericEdges(ref, 10));
    expect([shares(aspect, aspect), shares(width, width)]).toEqual([
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(shares(aspect, sketch("aspect", [...Array(100).fill([48, 40]), ...Array(100).fill([40, 40])]))).toEqual([0.5, 0.5, 0]);
  });
});
