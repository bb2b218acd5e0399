import { describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import { CategoricalSketch, NumericSketch } from "../../../../protocol/sketch/index.ts";
import { benjaminiHochberg } from "../../../../collector/drift/multiple-testing.ts";
import { flush, normal, postReports, publishManifest, rng, sketchReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, modelBytes, twoFeatureManifest, unique, upload } from "../../registry-helpers.ts";

const REFERENCE_ROWS = 800;
/** Moves x so its KS p-value is 0.048: drift on its own, not after adjusting across 2 features (0.097). */
const SHIFT = 0.25;

/** Reference of 800 rows (so KS and chi-squared judge): x ~ N(0, 1), c with shares .5/.3/.2. */
function manifest(model: string, sha256: string, size: number, drift: Manifest["drift"]): Manifest {
  const r = rng(11);
  const x = new NumericSketch();
  const c = new CategoricalSketch(["a", "b", "c"]);
  const p = new NumericSketch();
  for (let i = 0; i < REFERENCE_ROWS; i++) {
    x.update(normal(r));
    const u = r();
    c.update(u < 0.5 ? "a" : u < 0.8 ? "b" : "c");
    p.update(0.5 + 0.1 * normal(r));
  }
  return { ...twoFeatureManifest({ model, sha256, size }, { name: "x", sketch: x }, { name: "c", sketch: c }, { rows: REFERENCE_ROWS, prediction: p }), drift };
}

/** 16 reports of 50 rows: x moved by a little, c as in the reference. */
function reports(model: string, version: number, start: number) {
  return Array.from({ length: 16 }, (_, i) => {
    const r = rng(500 + i);
    const x = new NumericSketch();
    const c = new CategoricalSketch(["a", "b", "c"]);
    const p = new NumericSketch();
    for (let j = 0; j < 50; j++) {
      x.update(normal(r) + SHIFT);
      const u = r();
      c.update(u < 0.5 ? "a" : u < 0.8 ? "b" : "c");
      p.update(0.5 + 0.1 * normal(r));
    }
    return sketchReport(model, version, i, { start, segment: { backend: "wasm" }, rows: 50, features: { x, c }, prediction: p });
  });
}

describe("GET /v1/drift with p-values adjusted across features", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  async function driftOf(drift: Manifest["drift"]): Promise<DriftAnswer> {
    const model = unique("bh");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size, drift));
    expect((await postReports(ingest, reports(model, version, minute - 60_000))).accepted).toHaveLength(16);
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${minute - 60_000}&to=${minute}`, { token: read });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as DriftAnswer;
  }

  it("returns raw and adjusted p-values, and judges by the adjusted ones only when the manifest asks", async () => {
    const plain = await driftOf(undefined);
    const { x, c } = plain.features;
    expect([x!.test, c!.test]).toEqual(["ks", "chi2"]);
    expect([x!.p_adjusted, c!.p_adjusted]).toEqual(benjaminiHochberg([x!.p_value, c!.p_value]));
    expect(x!.p_value).toBeLessThan(0.05);
    expect(x!.p_adjusted).toBeGreaterThanOrEqual(0.05);
    expect(x!.drifted).toBe(true);
    expect(plain.prediction!.p_adjusted).toBe(plain.prediction!.p_value);

    const adjusted = await driftOf({ correction: "benjamini-hochberg" });
    // the value judged, which an alert quotes against the threshold, is the adjusted p-value
    expect(adjusted.features.x).toMatchObject({ p_value: x!.p_value, p_adjusted: x!.p_adjusted, value: x!.p_adjusted, drifted: false });
    expect(adjusted.dataset.drifted_share).toBe(plain.dataset.drifted_share - 0.5);
  });
});

describe("GET /v1/drift with calibrated verdicts", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const metric = { sampling: [2, 1] as [number, number], natural: [0.01, 0.005] as [number, number], floor: [0, 0] as [number, number] };

  it("judges distances against the profile's calibration for the window's size", async () => {
    const model = unique("calibrated");
    const version = await publishManifest(model, (sha, size) => {
      const m = manifest(model, sha, size, { verdicts: "calibrated" });
      m.profile.calibration = { chunks: { random: 40, ordered: 4, by: "day" }, features: { x: { wasserstein_normed: metric }, c: { js: metric } } };
      return m;
    });
    expect((await postReports(ingest, reports(model, version, minute - 60_000))).accepted).toHaveLength(16);
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${minute - 60_000}&to=${minute}`, { token: read });
    const { features } = (await res.json()) as DriftAnswer;
    // upper natural 0.025 + upper sampling 5 × (1/800 + 1/800), on the squared scale
    const threshold = Math.sqrt(0.025 + 5 * (1 / 800 + 1 / 800));
    expect(features.x).toMatchObject({ test: "wasserstein", threshold: expect.closeTo(threshold, 9), drifted: features.x!.value! >= threshold });
    expect(features.c).toMatchObject({ test: "js", threshold: expect.closeTo(threshold, 9) });
  });

  it("refuses a version that asks for calibrated verdicts without a calibration", async () => {
    const model = unique("calibrated");
    const bytes = modelBytes();
    const sha = await upload(bytes);
    const res = await call("POST", `/v1/models/${model}/versions`, { token: BOOTSTRAP, json: { manifest: manifest(model, sha, bytes.length, { verdicts: "calibrated" }) } });
    expect(await expectError(res, 400, "validation")).toContain("drift.verdicts is calibrated but the profile has no calibration");
  });
});
