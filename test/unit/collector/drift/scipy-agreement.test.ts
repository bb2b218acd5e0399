// Drift metrics from sketches against scipy/numpy on the raw rows (test/fixtures/drift/make-fixtures.py).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { FeatureDrift } from "../../../../protocol/api.ts";
import { computeDrift } from "../../../../collector/drift/index.ts";
import type { FeatureSketch } from "../../../../protocol/sketch/index.ts";
import { CategoricalSketch, NumericSketch, decodeCategorical, decodeNumeric } from "../../../../protocol/sketch/index.ts";
import { sketchInParts } from "../../../fixtures/sketch-parts.ts";

interface Expected {
  metrics: Record<string, number>;
  test: string;
  drifted: boolean;
  reference_rows: number;
  count: number;
}
type Case =
  | { name: string; kind: "numeric"; reference: string; current: string; expected: Expected }
  | { name: string; kind: "categorical"; categories: string[]; reference: Record<string, number>; current: Record<string, number>; expected: Expected };

const fixtures = JSON.parse(readFileSync(new URL("../../../fixtures/drift/drift-fixtures.json", import.meta.url), "utf8")) as { cases: Case[] };

/** Client reports per current dataset: each is sketched, encoded, decoded and merged, as ingest does. */
const REPORTS = 25;

function float32Rows(base64: string): Float32Array {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function numericSketch(rows: Float32Array, parts: number): NumericSketch {
  return decodeNumeric(sketchInParts(rows, parts, () => new NumericSketch(), decodeNumeric).encode());
}

function categoricalSketch(categories: string[], counts: Record<string, number>, parts: number): CategoricalSketch {
  const rows = Object.entries(counts).flatMap(([value, n]) => Array<string>(n).fill(value));
  return sketchInParts(rows, parts, () => new CategoricalSketch(categories), decodeCategorical);
}

function driftOf(c: Case): FeatureDrift {
  const [ref, cur]: [FeatureSketch, FeatureSketch] =
    c.kind === "numeric"
      ? [numericSketch(float32Rows(c.reference), 1), numericSketch(float32Rows(c.current), REPORTS)]
      : [categoricalSketch(c.categories, c.reference, 1), categoricalSketch(c.categories, c.current, REPORTS)];
  const result = computeDrift({ rows: c.expected.reference_rows, features: new Map([["x", ref]]) }, { features: new Map([["x", cur]]) });
  return result.features.x!;
}

/** PSI and JS tolerance: 0.02 absolute or 10% relative, whichever is larger. */
const binnedTolerance = (want: number) => Math.max(0.02, 0.1 * Math.abs(want));
/** p-values this far from 0.05 must give the same verdict. */
const clearPValue = (p: number) => p < 0.005 || p > 0.2;
/** Distances this far from their 0.1 threshold must give the same verdict. */
const clearDistance = (d: number) => Math.abs(d - 0.1) > 0.02;

const errors: Record<string, number> = { ks: 0, psi: 0, js: 0, wasserstein_normed: 0 };

describe("drift metrics from sketches agree with scipy on the raw rows", () => {
  it.each(fixtures.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const got = driftOf(c);
    const want = c.expected.metrics;
    expect(got.count).toBe(c.expected.count);
    expect(got.test).toBe(c.expected.test);
    for (const key of ["psi", "js"] as const) {
      expect(Math.abs(got.metrics[key]! - want[key]!), key).toBeLessThanOrEqual(binnedTolerance(want[key]!));
      errors[key] = Math.max(errors[key]!, Math.abs(got.metrics[key]! - want[key]!));
    }
    if (c.kind === "numeric") {
      expect(Math.abs(got.metrics.ks! - want.ks!)).toBeLessThanOrEqual(0.02);
      const w = Math.abs(got.metrics.wasserstein_normed! - want.wasserstein_normed!);
      expect(w).toBeLessThanOrEqual(binnedTolerance(want.wasserstein_normed!));
      errors.ks = Math.max(errors.ks!, Math.abs(got.metrics.ks! - want.ks!));
      errors.wasserstein_normed = Math.max(errors.wasserstein_normed!, w);
      if (clearPValue(want.ks_pvalue!)) expect(got.metrics.ks_pvalue! < 0.05, "KS verdict").toBe(want.ks_pvalue! < 0.05);
    } else {
      expect(got.metrics.unseen_share).toBeCloseTo(want.unseen_share!, 12);
    }
    if (clearPValue(want.chi2_pvalue!)) expect(got.metrics.chi2_pvalue! < 0.05, "chi-squared verdict").toBe(want.chi2_pvalue! < 0.05);
    const judged = c.expected.test === "ks" ? want.ks_pvalue! : c.expected.test === "chi2" ? want.chi2_pvalue! : c.expected.test === "js" ? want.js! : want.wasserstein_normed!;
    const clear = c.expected.test === "ks" || c.expected.test === "chi2" ? clearPValue(judged) : clearDistance(judged);
    if (clear) expect(got.drifted, "verdict").toBe(c.expected.drifted);
  });

  it("stays within the bounds above (largest absolute errors)", () => {
    console.log(`largest absolute errors vs scipy: ${JSON.stringify(errors)}`);
    expect(errors.ks).toBeLessThanOrEqual(0.02);
  });
});

describe("dataset drift", () => {
  it("drifts when the drifted share reaches the configured share", () => {
    const byName = new Map(fixtures.cases.map((c) => [c.name, c]));
    const pick = ["normal-shift-small", "no-drift-small", "scale-change-small", "lognormal-shift-small"].map((n) => byName.get(n)!);
    const ref = new Map<string, FeatureSketch>();
    const cur = new Map<string, FeatureSketch>();
    for (const c of pick) {
      if (c.kind !== "numeric") continue;
      ref.set(c.name, numericSketch(float32Rows(c.reference), 1));
      cur.set(c.name, numericSketch(float32Rows(c.current), REPORTS));
    }
    const rows = 800;
    const result = computeDrift({ rows, features: ref }, { features: cur });
    expect(Object.values(result.features).filter((f) => f.drifted)).toHaveLength(3);
    expect(result.dataset).toEqual({ drifted_share: 0.75, drifted: true });
    expect(computeDrift({ rows, features: ref }, { features: cur }, { share: 0.8 }).dataset.drifted).toBe(false);
  });
});
