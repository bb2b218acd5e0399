// A model's embedding, summarised on the devices as projected sums (protocol/embedding.ts), reaches
// the collector in reports and drifts against the profile's reference embeddings in GET /v1/drift.
import { describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import { EmbeddingProjector, EmbeddingReference } from "../../../../protocol/embedding.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import { EmbeddingSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, makeReport, normal, postReports, publishManifest, rng } from "../../ingest-helpers.ts";
import { call, createKey, manifestFor, unique } from "../../registry-helpers.ts";

const CONFIG = { length: 12, dims: 6, features: 64, seed: 3, bandwidth: 3 };
const projector = new EmbeddingProjector(CONFIG);

/** `n` embeddings around 0 (shift 0) or moved by `shift` in every coordinate. */
function embeddings(seed: number, n: number, shift: number): Float64Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float64Array.from({ length: CONFIG.length }, () => normal(r) + shift));
}

function manifest(model: string, sha: string, size: number): Manifest {
  const reference = new EmbeddingReference(projector);
  for (const e of embeddings(1, 2000, 0)) reference.add(e);
  const m = manifestFor(model, sha, size);
  m.embedding = CONFIG;
  m.profile.embedding = { sketch: toBase64(reference.sketch.encode()), nullScale: reference.nullScale() };
  return m;
}

/** A report of 20 rows whose embedding sketch holds 20 embeddings. */
function report(model: string, version: number, i: number, start: number, shift: number, sketch = projector.sketch()) {
  for (const e of embeddings(100 + i, 20, shift)) projector.add(sketch, e);
  return { ...makeReport(model, version, { client: `c-${i}`, start, tenure: Array.from({ length: 20 }, (_, j) => j) }), embedding: toBase64(sketch.encode()) };
}

describe("embedding drift through the collector", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  async function driftOf(shift: number): Promise<DriftAnswer> {
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const answer = await postReports(
      ingest,
      Array.from({ length: 20 }, (_, i) => report(model, version, i, minute - 60_000, shift)),
    );
    expect(answer.accepted).toHaveLength(20);
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${minute - 60_000}&to=${minute}`, { token: read });
    return (await res.json()) as DriftAnswer;
  }

  it("judges 400 embeddings like the reference as not drifted, and moved ones as drifted", async () => {
    const same = (await driftOf(0)).embedding!;
    expect(same).toMatchObject({ count: 400, drifted: false, sender_share: 0.05 });
    const moved = (await driftOf(0.5)).embedding!;
    expect(moved).toMatchObject({ count: 400, drifted: true, components: { verdict: true }, distance: { verdict: true } });
  });

  it("refuses an embedding sketch of other sizes, or where the manifest has no embedding", async () => {
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const wrong = await postReports(ingest, [report(model, version, 0, minute - 60_000, 0, new EmbeddingSketch(5, 64))]);
    expect(wrong.rejected).toEqual([expect.objectContaining({ code: "sketch_mismatch", message: expect.stringContaining("5 components and 64 features, expected 6 and 64") })]);
    const plain = unique("emb");
    const plainVersion = await publishManifest(plain, (sha, size) => manifestFor(plain, sha, size));
    const none = await postReports(ingest, [report(plain, plainVersion, 0, minute - 60_000, 0)]);
    expect(none.rejected).toEqual([expect.objectContaining({ code: "sketch_mismatch", message: expect.stringContaining("the manifest has no embedding") })]);
  });
});
