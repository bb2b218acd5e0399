// An image model's descriptors are its features: the collector accepts them in reports and judges
// their drift like any feature's, from the manifest's media input alone (no tabular features). So
// are the statistics of the tensors a manifest's `tensorStats` names, and only of those.
import { describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import { DESCRIPTORS } from "../../../../protocol/preprocess/descriptors.ts";
import { TENSOR_STATS } from "../../../../protocol/preprocess/tensor-stats.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import { ClassificationSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, normal, postReports, publishManifest, rng, sketchReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, modelBytes, unique, upload } from "../../registry-helpers.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

const MEDIA = { kind: "image", height: 16, width: 16, layout: "NCHW", channels: "RGB", fit: "cover", filter: "bilinear" } as const;

/** Descriptor sketches of `n` images; brightness centred on `brightness`, the rest as in the reference. */
function descriptors(seed: number, n: number, brightness: number): Record<string, NumericSketch> {
  const r = rng(seed);
  const value: Record<string, () => number> = {
    brightness: () => brightness + 0.05 * normal(r),
    contrast: () => 0.2 + 0.03 * normal(r),
    saturation: () => 0.4 + 0.05 * normal(r),
    sharpness: () => 0.01 + 0.002 * normal(r),
    width: () => 640,
    height: () => 480,
    aspect: () => 640 / 480,
  };
  const out: Record<string, NumericSketch> = {};
  for (const d of DESCRIPTORS.image) {
    const s = (out[`image.${d}`] = new NumericSketch());
    for (let i = 0; i < n; i++) s.update(value[d]!());
  }
  return out;
}

function predictions(n: number): ClassificationSketch {
  const p = new ClassificationSketch(["cat", "dog"]);
  for (let i = 0; i < n; i++) addProbabilities(p, i % 3 ? [0.8, 0.2] : [0.3, 0.7]);
  return p;
}

function manifest(model: string, sha256: string, size: number): Manifest {
  const features = Object.fromEntries(Object.entries(descriptors(1, 2000, 0.5)).map(([name, s]) => [name, { kind: "numeric" as const, sketch: toBase64(s.encode()) }]));
  return {
    format: 1,
    model,
    sha256,
    size,
    inputs: [{ name: "image", dtype: "float32", shape: [-1, 3, 16, 16], media: MEDIA }],
    features: [],
    outputs: [{ name: "probabilities", kind: "probabilities", labels: ["cat", "dog"] }],
    profile: { format: 1, rows: 2000, features, prediction: { kind: "classification", sketch: toBase64(predictions(2000).encode()) }, createdAt: new Date().toISOString() },
  };
}

describe("descriptor features of an image input", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  it("are accepted in reports and drift when the images get brighter, the other descriptors not", async () => {
    const model = unique("img");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const reports = Array.from({ length: 16 }, (_, i) =>
      sketchReport(model, version, i, { start: minute - 60_000, segment: {}, rows: 50, features: descriptors(100 + i, 50, 0.75), prediction: predictions(50) }),
    );
    expect((await postReports(ingest, reports)).accepted).toHaveLength(16);
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${minute - 60_000}&to=${minute}`, { token: read });
    const drift = (await res.json()) as DriftAnswer;
    expect(Object.keys(drift.features).sort()).toEqual(DESCRIPTORS.image.map((d) => `image.${d}`).sort());
    expect(drift.features["image.brightness"]!.drifted).toBe(true);
    for (const d of ["contrast", "saturation", "sharpness"]) expect(drift.features[`image.${d}`]!.drifted, d).toBe(false);
  });

  it("refuses a report feature the media input does not describe", async () => {
    const model = unique("img");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const features = { ...descriptors(7, 10, 0.5), "image.loudness": new NumericSketch() };
    const answer = await postReports(ingest, [sketchReport(model, version, 0, { start: minute - 60_000, segment: {}, rows: 10, features, prediction: predictions(10) })]);
    expect(answer.rejected).toEqual([expect.objectContaining({ message: expect.stringContaining("image.loudness") })]);
  });

  it("refuses a manifest that puts a tabular feature on the media input", async () => {
    const model = unique("img");
    const bytes = modelBytes();
    const sha = await upload(bytes);
    const m = manifest(model, sha, bytes.length);
    m.features = [{ name: "x", kind: "numeric", input: "image", index: 0, policy: "reject" }];
    const res = await call("POST", `/v1/models/${model}/versions`, { token: BOOTSTRAP, json: { manifest: m } });
    expect(await expectError(res, 400, "validation")).toMatch(/input "image" takes an image: its features are its descriptors/);
  });

  it("take the statistics of the tensors the manifest's tensorStats names, refuse others, and refuse a manifest without their reference", async () => {
    const stats = (seed: number, n: number) => {
      const r = rng(seed);
      return Object.fromEntries(
        TENSOR_STATS.map((stat) => {
          const s = new NumericSketch();
          for (let i = 0; i < n; i++) s.update(0.1 + 0.01 * normal(r));
          return [`probabilities.${stat}`, s];
        }),
      );
    };
    const model = unique("img");
    const version = await publishManifest(model, (sha, size) => {
      const m = manifest(model, sha, size);
      const reference = Object.entries(stats(2, 500)).map(([name, s]) => [name, { kind: "numeric" as const, sketch: toBase64(s.encode()) }]);
      return { ...m, tensorStats: ["probabilities"], profile: { ...m.profile, features: { ...m.profile.features, ...Object.fromEntries(reference) } } };
    });
    const report = (i: number, extra: Record<string, NumericSketch>) =>
      sketchReport(model, version, i, { start: minute - 60_000, segment: {}, rows: 10, features: { ...descriptors(20 + i, 10, 0.5), ...stats(30 + i, 10), ...extra }, prediction: predictions(10) });
    expect((await postReports(ingest, [report(0, {})])).accepted).toHaveLength(1);
    const answer = await postReports(ingest, [report(1, { "image.mean": new NumericSketch() })]);
    expect(answer.rejected).toEqual([expect.objectContaining({ message: expect.stringContaining("image.mean") })]);
    const bytes = modelBytes();
    const sha = await upload(bytes);
    const other = unique("img");
    const res = await call("POST", `/v1/models/${other}/versions`, { token: BOOTSTRAP, json: { manifest: { ...manifest(other, sha, bytes.length), tensorStats: ["probabilities"] } } });
    expect(await expectError(res, 400, "validation")).toMatch(/no sketch of feature "probabilities\.mean"/);
  });
});
