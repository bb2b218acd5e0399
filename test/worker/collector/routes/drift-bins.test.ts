// GET /v1/drift?detail=bins: reference and current shares per feature and for the prediction,
// checked against the same sketches merged directly in the test; the default answer is unchanged.
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, ClassificationSketch, NumericSketch, binEdges, pmf, decodeCategorical, decodeClassification, decodeNumeric } from "../../../../protocol/sketch/index.ts";
import { flush, normal, postReports, publishManifest, rng, sketchReport } from "../../ingest-helpers.ts";
import { call, createKey, expectError, twoFeatureManifest, unique } from "../../registry-helpers.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

const CATEGORIES = ["a", "b", "c"];
const LABELS = ["no", "yes"];

/** One side's sketches: x ~ N(shift, 1), c over a/b/c plus `unseen` share of "zzz", scores. */
function sketches(seed: number, rows: number, shift: number, unseen: number) {
  const r = rng(seed);
  const x = new NumericSketch();
  const c = new CategoricalSketch(CATEGORIES);
  const p = new ClassificationSketch(LABELS);
  for (let i = 0; i < rows; i++) {
    x.update(normal(r) + shift);
    const u = r();
    const value = u < unseen ? "zzz" : CATEGORIES[Math.floor(r() * (shift > 0 ? 2 : 3))]!;
    // every tenth row's value is missing: a sketch holds one value per row
    c.update(i % 10 === 0 ? null : value);
    const yes = Math.min(1, Math.max(0, 0.3 + shift * 0.3 + 0.1 * normal(r)));
    addProbabilities(p, [1 - yes, yes]);
  }
  return { x, c, p };
}

function manifest(model: string, sha256: string, size: number): Manifest {
  const ref = sketches(7, 1500, 0, 0);
  return twoFeatureManifest({ model, sha256, size }, { name: "x", sketch: ref.x }, { name: "c", sketch: ref.c }, { rows: 1500, prediction: ref.p });
}

interface Bins {
  edges?: number[];
  labels?: string[];
  reference: number[];
  current: number[];
}

interface DriftAnswer {
  features: Record<string, { drifted: boolean; bins?: Bins }>;
  prediction: { bins?: Bins } | null;
}

const shareOf = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => n / total);
};

function expectClose(actual: number[], expected: number[], tolerance = 1e-9): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `bin ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance));
}

/**
 * KLL compaction depends on merge order (the collector merges per shard, then across shards),
 * so a bin's current share may differ by up to two CDF rank errors (1% each).
 */
const MERGE_ORDER_TOLERANCE = 0.02;

describe("GET /v1/drift?detail=bins", async () => {
  const model = unique("bins");
  const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const sides = Array.from({ length: 12 }, (_, i) => sketches(100 + i, 80, 1, 0.1));
  const reports: Report[] = sides.map((s, i) => sketchReport(model, version, i, { start, segment: { backend: i % 2 ? "wasm" : "webgpu" }, rows: 80, features: { x: s.x, c: s.c }, prediction: s.p }));
  expect((await postReports(ingest, reports)).accepted).toHaveLength(12);
  await flush(model);
  const range = `from=${start}&to=${start + 60_000}`;
  const get = async (query: string) => {
    const res = await call("GET", `/v1/drift?model=${model}&${range}${query}`, { token: read });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as DriftAnswer;
  };

  // The same sketches as the collector holds them (encoded: float32 values), merged here.
  const decoded = (s: ReturnType<typeof sketches>) => ({
    x: decodeNumeric(s.x.encode()),
    c: decodeCategorical(s.c.encode()),
    p: decodeClassification(s.p.encode()),
  });
  const ref = decoded(sketches(7, 1500, 0, 0));
  const cur = sides.map(decoded).reduce((a, s) => ({ x: a.x.merge(s.x), c: a.c.merge(s.c), p: a.p.merge(s.p) }));

  it("leaves the default answer without bins", async () => {
    const plain = await get("");
    expect(Object.values(plain.features).every((f) => !("bins" in f))).toBe(true);
    expect(plain.prediction && "bins" in plain.prediction).toBe(false);
  });

  it("gives a numeric feature's shares over the reference deciles", async () => {
    const { x } = (await get("&detail=bins")).features;
    const edges = binEdges(ref.x.quantiles, 10);
    expect(x!.drifted).toBe(true);
    expectClose(x!.bins!.edges!, edges);
    expectClose(x!.bins!.reference, pmf(ref.x.quantiles, edges));
    expectClose(x!.bins!.current, pmf(cur.x.quantiles, edges), MERGE_ORDER_TOLERANCE);
    expect(x!.bins!.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it("gives a categorical feature's shares over its categories and other, missing left out", async () => {
    const { c } = (await get("&detail=bins")).features;
    expect(c!.bins!.labels).toEqual([...CATEGORIES, "other"]);
    expectClose(c!.bins!.reference, shareOf([...ref.c.counts, ref.c.other]));
    expectClose(c!.bins!.current, shareOf([...cur.c.counts, cur.c.other]));
    expect(c!.bins!.current[3]).toBeGreaterThan(0.05);
  });

  it("gives the prediction's class shares", async () => {
    const { prediction } = await get("&detail=bins");
    expect(prediction!.bins!.labels).toEqual(LABELS);
    expectClose(prediction!.bins!.reference, shareOf(ref.p.counts));
    expectClose(prediction!.bins!.current, shareOf(cur.p.counts));
  });

  it("gives zero current shares where a segment has no traffic", async () => {
    const { x } = (await get("&detail=bins&segment=backend:none")).features;
    expect(x!.bins!.current).toEqual(Array(10).fill(0));
  });

  it("refuses an unknown detail", async () => {
    await expectError(await call("GET", `/v1/drift?model=${model}&detail=everything`, { token: read }), 400, "validation");
  });
});
