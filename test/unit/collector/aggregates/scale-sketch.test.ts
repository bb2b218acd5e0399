// What a sender's data weighs past its budget: its sketches scaled down, their shape kept
// (collector/aggregates/scale-sketch.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { scaleSketch } from "../../../../collector/aggregates/scale-sketch.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";
import { CategoricalSketch, ClassificationSketch, LatencySketch, NumericSketch, QuantileSketch, decodeSketch, quantile } from "../../../../protocol/sketch/index.ts";

/** A sketch's quantiles at the deciles. */
const deciles = (q: QuantileSketch) => Array.from({ length: 9 }, (_, i) => quantile(q, (i + 1) / 10));

describe("scaleSketch", () => {
  afterEach(() => vi.restoreAllMocks());

  it("scales counts and keeps the shape of every quantile sketch", () => {
    const numeric = new NumericSketch({ range: { min: 0, max: 120 } });
    const latency = new LatencySketch();
    const prediction = new ClassificationSketch(["no", "yes"]);
    for (let i = 0; i < 10_000; i++) {
      numeric.update(i % 2 ? null : (i * 7) % 120);
      latency.update("wasm", i % 500);
      addProbabilities(prediction, [(i % 10) / 10, 1 - (i % 10) / 10]);
    }
    const n = scaleSketch(numeric, 0.1);
    expect([n.missing, n.count]).toEqual([500, 500]);
    deciles(n.quantiles).forEach((x, i) => expect(Math.abs(x - deciles(numeric.quantiles)[i]!)).toBeLessThanOrEqual(3));
    expect(scaleSketch(latency, 0.25).backends.get("wasm")!.n).toBe(2_500);
    const p = scaleSketch(prediction, 0.5);
    expect([p.scores.n, p.entropy.n, p.counts.reduce((a, b) => a + b, 0)]).toEqual([5_000, 5_000, 5_000]);
  });

  it("leaves a categorical sketch that decodes: no more heavy-hitter counts than unseen values", () => {
    const plan = new CategoricalSketch(["basic", "pro"]);
    for (const unseen of ["w", "x", "y", "z", "z", "y", "x"]) plan.update(unseen);
    for (const factor of [0.5, 0.25, 1 / 3, 0.7, 0.99]) {
      const scaled = scaleSketch(plan, factor);
      expect(() => decodeSketch(scaled.encode()), `by ${factor}`).not.toThrow();
    }
  });

  it("leaves a classification sketch that decodes: no more entropies than predictions", () => {
    const prediction = new ClassificationSketch(["no", "yes"]);
    addProbabilities(prediction, [0.7, 0.3]);
    addProbabilities(prediction, [0.2, 0.8]);
    for (const factor of [0.4, 0.45, 0.5, 0.3]) {
      const scaled = scaleSketch(prediction, factor);
      expect(() => decodeSketch(scaled.encode()), `by ${factor}`).not.toThrow();
    }
  });

  it("scales a sketch of a million values with a bounded number of updates, however much of the budget is left", () => {
    // the budget of a day window leaves up to 1.44 M values: rebuilt a value at a time, one report
    // of a few hundred such features took tens of seconds of the aggregator's CPU, again at each
    // decode of its logged form (every row a flush writes it to)
    const numeric = new NumericSketch({ range: { min: 0, max: 120 } });
    const latency = new LatencySketch();
    for (let i = 0; i < 1_000_000; i++) {
      numeric.update((i * 7_919) % 120);
      latency.update("wasm", (i * 31) % 500);
    }
    const updates = vi.spyOn(QuantileSketch.prototype, "update");
    const n = scaleSketch(numeric, 0.999_999);
    const l = scaleSketch(latency, 0.999_999);
    expect(updates.mock.calls.length).toBeLessThanOrEqual(20_000);
    expect([n.count, l.backends.get("wasm")!.n]).toEqual([999_999, 999_999]);
    expect(n.outOfRange).toBe(0);
    expect(n.mean).toBeCloseTo(numeric.mean, 0);
    deciles(n.quantiles).forEach((x, i) => expect(Math.abs(x - deciles(numeric.quantiles)[i]!)).toBeLessThanOrEqual(3));
    deciles(l.backends.get("wasm")!).forEach((x, i) => expect(Math.abs(x - deciles(latency.backends.get("wasm")!)[i]!)).toBeLessThanOrEqual(10));
  });
});
