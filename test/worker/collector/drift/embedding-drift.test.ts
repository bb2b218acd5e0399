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

function manifest(model: string, sha: string, size: number, config: typeof CONFIG & { clip?: number } = CONFIG): Manifest {
  const reference = new EmbeddingReference(new EmbeddingProjector(config));
  for (const e of embeddings(1, 2000, 0)) reference.add(e);
  const m = manifestFor(model, sha, size);
  m.embedding = config;
  m.profile.embedding = { sketch: toBase64(reference.sketch.encode()), nullScale: reference.nullScale() };
  return m;
}

/** A report of 20 rows whose embedding sketch holds 20 embeddings. */
function report(model: string, version: number, i: number, start: number, shift: number, sketch = projector.sketch(), by = projector) {
  for (const e of embeddings(100 + i, 20, shift)) by.add(sketch, e);
  return { ...makeReport(model, version, { client: `c-${i}`, start, tenure: Array.from({ length: 20 }, (_, j) => j) }), embedding: toBase64(sketch.encode()) };
}

describe("embedding drift through the collector", async () => {
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;

  /** The drift of 20 clients' reports of embeddings moved by `shift`, and those `more` adds, and the refusals. */
  async function driftOf(shift: number, more: (model: string, version: number) => object[] = () => [], config = CONFIG): Promise<DriftAnswer> {
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size, config));
    const by = new EmbeddingProjector(config);
    const reports = [...Array.from({ length: 20 }, (_, i) => report(model, version, i, minute - 60_000, shift, by.sketch(), by)), ...more(model, version)];
    const answer = await postReports(ingest, reports);
    expect(answer.accepted).toHaveLength(reports.length);
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

  it("cannot be made to drift by one sender's embeddings: they weigh in its budget and the sender tally", async () => {
    // 2,000 moved embeddings in a report of no other sketch (within its 2,000 rows)
    const flood = (model: string, version: number) => {
      const sketch = projector.sketch();
      for (const e of embeddings(7, 2_000, 0.5)) projector.add(sketch, e);
      const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { client: "flood", start: minute - 60_000 });
      return [{ ...bare, rows: 2_000, features: {}, embedding: toBase64(sketch.encode()) }];
    };
    const attacked = (await driftOf(0, flood)).embedding!;
    // its budget (1,000 a minute window) leaves it 1,000 of 1,400: over half, so no verdict
    expect(attacked).toMatchObject({ count: 1_400, drifted: false });
    expect(attacked.sender_share).toBeCloseTo(1_000 / 1_400, 6);
  });

  it("cannot be made to drift by one sender under half the window: its share is trimmed, wherever its embeddings lie", async () => {
    // 300 embeddings moved far, within its budget: 300 of 700, under the half past which no verdict holds
    const flood = (model: string, version: number) => {
      const sketch = projector.sketch();
      for (const e of embeddings(7, 300, 3)) projector.add(sketch, e);
      const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { client: "flood", start: minute - 60_000 });
      return [{ ...bare, rows: 300, features: {}, embedding: toBase64(sketch.encode()) }];
    };
    const attacked = (await driftOf(0, flood)).embedding!;
    expect(attacked.sender_share).toBeCloseTo(300 / 700, 6);
    expect(attacked).toMatchObject({ count: 700, drifted: false, mmd: { verdict: false } });
  });

  it("keeps one embedding from moving the distance once the manifest clips the components, and refuses sums past the clip", async () => {
    // twice the largest magnitude of a component among the reference's first 500, as `driftline profile` sets it
    const clip = 2 * embeddings(1, 500, 0).reduce((most, e) => Math.max(most, ...Array.from(projector.project(e), Math.abs)), 0);
    const clipped = { ...CONFIG, clip };
    // one embedding of 1e6 in every coordinate, from a sender of its own, beside 20 clients' 400 like the reference
    const huge = (by: EmbeddingProjector) => (model: string, version: number) => {
      const sketch = by.sketch();
      by.add(sketch, new Float64Array(CONFIG.length).fill(1e6));
      const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { client: "huge", start: minute - 60_000 });
      return [{ ...bare, rows: 1, features: {}, embedding: toBase64(sketch.encode()) }];
    };
    expect((await driftOf(0, huge(projector))).embedding).toMatchObject({ count: 401, distance: { verdict: true }, drifted: false });
    expect((await driftOf(0, huge(new EmbeddingProjector(clipped)), clipped)).embedding).toMatchObject({ count: 401, distance: { verdict: false }, drifted: false });
    // moved honestly, the window still drifts every way
    const moved = (await driftOf(0.5, () => [], clipped)).embedding!;
    expect(moved).toMatchObject({ count: 400, drifted: true, components: { verdict: true }, distance: { verdict: true } });
    // a sketch whose sums only components past the clip could give is refused
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size, clipped));
    const past = huge(projector)(model, version);
    expect((await postReports(ingest, past)).rejected).toEqual([expect.objectContaining({ code: "limit_exceeded", message: expect.stringContaining("the manifest's clip") })]);
  });

  it("takes a report of more embeddings than rows: the app passes embeddings of its own (rt.embed()), apart from its rows", async () => {
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    // 20 embeddings beside 1 row (a call under way as the report was cut), and beside none
    const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { start: minute - 60_000 });
    const { embedding } = report(model, version, 0, minute - 60_000, 0);
    const answer = await postReports(ingest, [
      { ...bare, rows: 1, features: {}, embedding },
      { ...bare, id: `${bare.id}-0`, rows: 0, features: {}, embedding },
    ]);
    expect([answer.accepted.length, answer.rejected]).toEqual([2, []]);
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

  it("keeps a window readable whatever sums one sender's embedding sketches claim", async () => {
    // each sketch decodes (finite sums a count of 1 could give), but two merged overflowed to
    // Infinity: the stored window no longer decoded and the next flush quarantined it
    const model = unique("emb");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const start = minute - 60_000;
    const honest = Array.from({ length: 3 }, (_, i) => ({ ...report(model, version, i, start, 0), client: "one-shard" }));
    expect((await postReports(ingest, honest)).accepted).toHaveLength(3);
    const huge = () => {
      const sketch = projector.sketch();
      sketch.count = 1;
      sketch.squares[0] = 1e308;
      const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { client: "one-shard", start, tenure: [1] });
      return { ...bare, features: {}, embedding: toBase64(sketch.encode()) };
    };
    const answer = await postReports(ingest, [huge(), huge()]);
    await flush(model);
    await postReports(ingest, [{ ...report(model, version, 9, start, 0), client: "one-shard" }]);
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${start}&to=${minute}`, { token: read });
    const body = (await res.json()) as DriftAnswer;
    expect([body.count, body.skipped, body.embedding?.count]).toEqual([80, 0, 80]);
    expect(answer.rejected.map((r) => r.code)).toEqual(["limit_exceeded", "limit_exceeded"]);
  });
});
