// Embedding drift from mergeable sums against numpy/scipy on the raw embeddings
// (test/fixtures/embedding/make-embeddings.py): the same embeddings regenerated here from the same
// seeded generators, projected as devices project them, sketched per report and merged.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EmbeddingProjector, EmbeddingReference } from "../../../protocol/embedding.ts";
import { embeddingDrift } from "../../../protocol/drift/embedding.ts";
import { seededRandom } from "../../../protocol/seeded-random.ts";
import { EmbeddingSketch, decodeEmbedding } from "../../../protocol/sketch/index.ts";

interface Sample {
  seed: number;
  n: number;
  weights: number[];
  noise: number;
}
interface Window extends Sample {
  exact: { components_share: number; distance: number; mmd: number; mmd_permutation_p: number };
  from_sums: { mmd: number };
}
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/embedding/embeddings.json", import.meta.url), "utf8")) as {
  config: { length: number; dims: number; features: number; seed: number; bandwidth: number };
  reference: Sample;
  windows: Record<string, Window>;
};
const { config } = fixture;

/** The script's normals: Box–Muller on one xorshift32 stream. */
function normals(seed: number) {
  const uniform = seededRandom(seed);
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

/** The script's `mixture`: cluster centres from seed 1, picks and noise from `seed`. */
function mixture({ seed, n, weights, noise }: Sample): Float64Array[] {
  const means = normals(1);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: config.length }, () => 3 * means.normal()));
  const g = normals(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = weights.map((_, i) => weights.slice(0, i + 1).reduce((a, b) => a + b, 0) / total);
  return Array.from({ length: n }, () => {
    const u = g.uniform();
    const c = Math.min(
      cumulative.findIndex((x) => x > u),
      3,
    );
    return Float64Array.from(centres[c]!, (m) => m + noise * g.normal());
  });
}

const projector = new EmbeddingProjector(config);
const reference = new EmbeddingReference(projector);
for (const e of mixture(fixture.reference)) reference.add(e);
const nullScale = reference.nullScale();

/** A window as the collector sees it: 12 reports' sketches, each through the wire format, merged. */
function windowSketch(w: Sample): EmbeddingSketch {
  const rows = mixture(w);
  const merged = projector.sketch();
  for (let r = 0; r < 12; r++) {
    const report = projector.sketch();
    for (let i = r; i < rows.length; i += 12) projector.add(report, rows[i]!);
    merged.merge(decodeEmbedding(report.encode()));
  }
  return merged;
}

describe("embedding drift from sums", () => {
  it.each(Object.entries(fixture.windows))("%s: statistics as numpy's, verdicts as scipy's tests", (_name, w) => {
    const drift = embeddingDrift(reference.sketch, windowSketch(w), nullScale)!;
    expect(drift.count).toBe(w.n);
    // the distance between means is exact from sums of the projections, which devices blur by
    // up to 0.1 % each (protocol/blur.ts): within 0.1 % of numpy's on the raw projections
    expect(Math.abs(drift.distance.value / w.exact.distance - 1)).toBeLessThan(1e-3);
    // Welch's test from sums (normal tails) against scipy's (t tails): at most one component of 16 apart
    expect(Math.abs(drift.components.share - w.exact.components_share)).toBeLessThanOrEqual(1 / 16 + 1e-12);
    // MMD² from the sums is what numpy computes from the same Fourier features of the raw
    // projections, within 1e-6 (the blur's share; the MMD threshold is ~1.3e-3) …
    expect(Math.abs(drift.mmd.value - w.from_sums.mmd)).toBeLessThan(1e-6);
    // … and within 0.005 of the exact kernel's unbiased MMD² (256 random features)
    expect(Math.abs(drift.mmd.value - w.exact.mmd)).toBeLessThan(0.005);
    // verdicts: MMD as the permutation test at 5 %, components and distance by their thresholds
    expect(drift.mmd.verdict).toBe(w.exact.mmd_permutation_p < 0.05);
    expect(drift.components.verdict).toBe(w.exact.components_share >= 0.2);
    expect(drift.distance.verdict).toBe(w.exact.distance > 0.2);
  });

  it("finds the spread change only by MMD, the mean shift every way, and nothing without drift", () => {
    const verdicts = Object.fromEntries(
      Object.entries(fixture.windows).map(([name, w]) => {
        const d = embeddingDrift(reference.sketch, windowSketch(w), nullScale)!;
        return [name, [d.components.verdict, d.distance.verdict, d.mmd.verdict]];
      }),
    );
    expect(verdicts).toEqual({ "no-drift": [false, false, false], "mean-shift": [true, true, true], spread: [false, false, true] });
  });

  it("refuses sums no embeddings could give", () => {
    const s = new EmbeddingSketch(2, 2);
    s.update([1, 1], [0.5, 0.5]);
    s.squares[0] = 0.1; // one value of 1 cannot square to 0.1
    expect(() => decodeEmbedding(s.encode())).toThrow(/embedding sums no embeddings could give/);
    // a Fourier feature's sum past count·√(2/D) (here 1 · 1): a hostile report steering MMD
    const steer = new EmbeddingSketch(2, 2);
    steer.update([1, 1], [0.5, 0.5]);
    steer.kernelSum[0] = 1e6;
    steer.kernelSquares[0] = 1e12;
    expect(() => decodeEmbedding(steer.encode())).toThrow(/embedding sums no embeddings could give/);
    expect(() => new EmbeddingSketch(300, 2)).toThrow(/embedding dims/);
  });
});

describe("what a report of one embedding says of it", () => {
  it("gives its projection to within 0.1 %, never exactly, even when the projection could be inverted", () => {
    // as many components as the embedding has values: without the blur, solving the seeded
    // projection (public in the manifest) would give the embedding back bit for bit
    const invertible = new EmbeddingProjector({ length: 8, dims: 8, features: 4, seed: 7, bandwidth: 1 });
    // the projection's entries are ±1/√8: their signs, read off the projections of unit vectors
    const signs = Array.from({ length: 8 }, (_, j) => invertible.project(Float64Array.from({ length: 8 }, (_, k) => (k === j ? 1 : 0))));
    const embedding = [0.1093, 0.6729, -0.5881, -1.1437, 3, 17, 0.5, -2];
    const sketch = invertible.sketch();
    invertible.add(sketch, embedding);
    for (let i = 0; i < 8; i++) {
      let raw = 0;
      for (let j = 0; j < 8; j++) raw += (Math.sign(signs[j]![i]!) / Math.sqrt(8)) * embedding[j]!;
      expect(sketch.sum[i]).not.toBe(raw);
      expect(Math.abs(sketch.sum[i]! / raw - 1)).toBeLessThan(1e-3);
    }
  });
});

describe("embedding drift without the heaviest sender", () => {
  it("never judges a window's MMD above what the rest of it shows, wherever one sender's embeddings lie", () => {
    const random = seededRandom(20261206);
    const amplitude = Math.sqrt(2 / config.features);
    let drifting = 0;
    for (let trial = 0; trial < 40; trial++) {
      const honest = projector.sketch();
      const window = Object.values(fixture.windows)[trial % 3]!;
      for (const e of mixture({ ...window, seed: window.seed + trial, n: 200 })) projector.add(honest, e);
      // up to as many embeddings as the honest ones, of any Fourier features within their bound
      const sender = projector.sketch();
      const m = 1 + Math.floor(random() * 200);
      const corner = Float64Array.from({ length: config.features }, () => (random() < 0.5 ? -amplitude : amplitude) * random() ** 0.1);
      for (let i = 0; i < m; i++) sender.update(new Float64Array(config.dims), corner);
      const all = projector.sketch().merge(honest).merge(sender);
      const alone = embeddingDrift(reference.sketch, honest, nullScale)!;
      const judged = embeddingDrift(reference.sketch, all, nullScale, m)!;
      if (judged.sender_share > 0.5) continue;
      expect(judged.mmd.value).toBeLessThanOrEqual(alone.mmd.value + 1e-12);
      expect(judged.mmd.threshold).toBeGreaterThanOrEqual(alone.mmd.threshold * (1 - 1e-12));
      if (judged.drifted) expect(alone.drifted).toBe(true);
      if (alone.drifted) drifting++;
    }
    expect(drifting).toBeGreaterThan(0);
  });

  it("moves no component's or the distance's verdict by one embedding once the manifest clips the components", () => {
    const probe = new EmbeddingProjector(config);
    const clip = 2 * mixture(fixture.reference).reduce((most, e) => Math.max(most, ...Array.from(probe.project(e), Math.abs)), 0);
    const clipped = new EmbeddingProjector({ ...config, clip });
    // devices clip: a component past ±clip is sent as ±clip
    const huge = Float64Array.from({ length: config.length }, () => 1e6);
    expect(Math.max(...clipped.project(huge).map(Math.abs))).toBe(clip);
    const verdicts = (by: EmbeddingProjector) => {
      const ref = new EmbeddingReference(by);
      for (const e of mixture(fixture.reference)) ref.add(e);
      const window = by.sketch();
      for (const e of mixture({ ...fixture.windows["no-drift"]!, n: 400 })) by.add(window, e);
      by.add(window, huge);
      const d = embeddingDrift(ref.sketch, window, ref.nullScale(), 1)!;
      return [d.components.verdict, d.distance.verdict];
    };
    // one embedding of 1e6 in every coordinate beside 400 like the reference
    expect(verdicts(probe)).toEqual([false, true]);
    expect(verdicts(clipped)).toEqual([false, false]);
  });
});
