import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { modelKey } from "../../../../collector/registry/model-key.ts";
import { LIMITS } from "../../../../protocol/limits.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { TOTALS_BY_GRANULARITY, flush, numericManifest, postReports, publishManifest } from "../../ingest-helpers.ts";
import { createKey, unique } from "../../registry-helpers.ts";

const FEATURES = Array.from({ length: LIMITS.features }, (_, i) => `f${i}`);

/** A manifest of as many numeric features as one may have, each with a small reference sketch. */
function widest(model: string, sha256: string, size: number): Manifest {
  const reference = new NumericSketch();
  for (let i = 0; i < 100; i++) reference.update(i);
  return numericManifest({ model, sha256, size }, Object.fromEntries(FEATURES.map((name) => [name, reference])), 100, { spec: { name: "score", kind: "score" } });
}

it("holds a bounded part of a batch decoded at once: 100 reports of 512 empty sketches (3.3 MB sent, ~100 MB decoded whole) are taken in slices, every report counted", {
  timeout: 300_000,
}, async () => {
  const model = unique("batch-memory");
  const version = await publishManifest(model, (sha, size) => widest(model, sha, size));
  const { token } = await createKey("default", "ingest");
  // an empty sketch is ~60 characters on the wire and ~1.5 KB decoded: the most heap a byte sent buys
  const empty = toBase64(new NumericSketch().encode());
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  const client = "wide-client";
  const reports: Report[] = Array.from({ length: 100 }, (_, i) => ({
    id: `${model}-${i}`,
    model,
    version,
    role: "live",
    client,
    start,
    end: start + 30_000,
    segment: {},
    rows: 1,
    sampleRate: 1,
    features: Object.fromEntries(FEATURES.map((name) => [name, empty])),
  }));
  expect(JSON.stringify({ reports }).length).toBeLessThan(LIMITS.batchBytes);
  const answer = await postReports(token, reports);
  expect([answer.accepted.length, answer.rejected.length], JSON.stringify(answer.rejected[0])).toEqual([100, 0]);
  const stats = await aggregator(env, modelKey("default", model), shardOf(client, 3)).stats();
  // a slice of 16 MiB estimated, the report that crossed it and the chunk it merged into
  expect(stats.peakPendingBytes).toBeLessThan(24 * 1024 * 1024);
  await flush(model);
  const stored = await env.DB.prepare(TOTALS_BY_GRANULARITY).bind(modelKey("default", model), modelKey("default", model)).all<{ granularity: string; reports: number }>();
  expect(Object.fromEntries(stored.results.map((x) => [x.granularity, x.reports]))).toEqual({ minute: 100, hour: 100, day: 100 });
});
