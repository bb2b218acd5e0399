// Issue 17 item 4: a classifier's output entropy is sketched and judged. A model that grows unsure
// — the same classes, the same top scores, the rest of the probability spread over more classes —
// shows no prediction drift (class shares, top scores) but drifts its entropy.
import { describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import { ClassificationSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, postReports, publishManifest, rng, sketchReport } from "../../ingest-helpers.ts";
import { call, createKey, unique } from "../../registry-helpers.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

const LABELS = ["a", "b", "c"];

/**
 * Predictions of `n` rows: class a with a top score around 0.6; the rest on b (`spread` false) or
 * split between b and c (`spread` true).
 */
function predictions(seed: number, n: number, spread: boolean): ClassificationSketch {
  const r = rng(seed);
  const s = new ClassificationSketch(LABELS);
  for (let i = 0; i < n; i++) {
    const top = 0.55 + 0.1 * r();
    const rest = 1 - top;
    addProbabilities(s, spread ? [top, rest / 2, rest / 2] : [top, rest * 0.95, rest * 0.05]);
  }
  return s;
}

function feature(seed: number, n: number): NumericSketch {
  const r = rng(seed);
  const s = new NumericSketch();
  for (let i = 0; i < n; i++) s.update(r());
  return s;
}

function manifest(model: string, sha256: string, size: number): Manifest {
  return {
    format: 1,
    model,
    sha256,
    size,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, 1] }],
    features: [{ name: "x", kind: "numeric", input: "features", index: 0, policy: "reject" }],
    outputs: [{ name: "probabilities", kind: "probabilities", labels: LABELS }],
    profile: {
      format: 1,
      rows: 2000,
      features: { x: { kind: "numeric", sketch: toBase64(feature(1, 2000).encode()) } },
      prediction: { kind: "classification", sketch: toBase64(predictions(1, 2000, false).encode()) },
      createdAt: new Date().toISOString(),
    },
  };
}

describe("entropy of a classifier's outputs", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  /** /v1/drift of the last minute after 16 clients sent 50 rows each. */
  async function driftOf(spread: boolean): Promise<DriftAnswer> {
    const model = unique("unsure");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const reports = Array.from({ length: 16 }, (_, i) =>
      sketchReport(model, version, i, { start: minute - 60_000, segment: {}, rows: 50, features: { x: feature(100 + i, 50) }, prediction: predictions(200 + i, 50, spread) }),
    );
    expect((await postReports(ingest, reports)).accepted).toHaveLength(16);
    await flush(model);
    return (await (await call("GET", `/v1/drift?model=${model}&from=${minute - 60_000}&to=${minute}`, { token: read })).json()) as DriftAnswer;
  }

  it("drifts when the model spreads its doubt over more classes, while class shares and top scores hold", async () => {
    const unsure = await driftOf(true);
    expect(unsure.prediction!.drifted).toBe(false);
    expect(unsure.entropy).toMatchObject({ kind: "numeric", count: 800, drifted: true });
  });

  it("holds on outputs like the reference's", async () => {
    const same = await driftOf(false);
    expect(same.entropy).toMatchObject({ count: 800, drifted: false });
  });
});
