import { describe, expect, it } from "vitest";
import { computeDrift } from "../../../../collector/drift/index.ts";
import { benjaminiHochberg } from "../../../../collector/drift/multiple-testing.ts";
import { NumericSketch } from "../../../../protocol/sketch/index.ts";

describe("Benjamini–Hochberg", () => {
  it("adjusts the 15 p-values of Benjamini & Hochberg (1995) as R's p.adjust does, rejecting 4 at q = 0.05", () => {
    const p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1];
    // p.adjust(p, "BH") in R
    const r = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714, 0.06385714, 0.0645, 0.0765, 0.486, 0.5811818, 0.714875, 0.7532308, 0.8132143, 1];
    const adjusted = benjaminiHochberg([...p].reverse()).reverse();
    adjusted.forEach((a, i) => expect(a).toBeCloseTo(r[i]!, 7));
    expect(adjusted.filter((a) => a! < 0.05)).toHaveLength(4);
  });

  it("leaves hypotheses without a p-value out of the count", () => {
    expect(benjaminiHochberg([0.01, null, 0.04, 0.03])).toEqual([0.03, null, 0.04, 0.04]);
    expect(benjaminiHochberg([])).toEqual([]);
  });
});

describe("computeDrift with the adjustment", () => {
  const sketch = (shift: number) => {
    const s = new NumericSketch();
    for (let i = 0; i < 800; i++) s.update(((i * 37) % 800) + shift);
    return s;
  };
  // 800 reference rows: KS; shifted by 50 p ≈ 0.034, by 120 p ≈ 7e-9, unshifted p = 1
  const shifts = [0, 0, 0, 0, 0, 0, 0, 0, 50, 120];
  const names = shifts.map((_, i) => `f${i}`);
  const reference = { rows: 800, features: new Map(names.map((n) => [n, sketch(0)])) };
  const current = { features: new Map(names.map((n, i) => [n, sketch(shifts[i]!)])) };

  it("returns adjusted p-values always and judges by them only when the manifest asks", () => {
    const plain = computeDrift(reference, current);
    expect(plain.features.f8).toMatchObject({ test: "ks", drifted: true });
    expect(plain.features.f8!.p_value).toBeCloseTo(0.0345, 3);
    expect(plain.features.f8!.p_adjusted).toBeCloseTo((0.0345 * 10) / 2, 3);
    expect(plain.features.f9!.p_adjusted).toBeCloseTo(plain.features.f9!.p_value! * 10, 12);
    expect(plain.dataset.drifted_share).toBeCloseTo(0.2);

    const adjusted = computeDrift(reference, current, { correction: "benjamini-hochberg" });
    expect(adjusted.features.f8).toMatchObject({ drifted: false, p_value: plain.features.f8!.p_value });
    expect(adjusted.features.f9!.drifted).toBe(true);
    expect(adjusted.dataset.drifted_share).toBeCloseTo(0.1);
  });

  it("leaves features judged by a distance as they are", () => {
    const config = { correction: "benjamini-hochberg" as const, features: { f8: { test: "psi" as const, threshold: 0.01 } } };
    const result = computeDrift(reference, current, config);
    expect(result.features.f8).toMatchObject({ test: "psi", drifted: true });
    expect(result.features.f8!.p_value).toBeCloseTo(0.0345, 3);
  });
});
