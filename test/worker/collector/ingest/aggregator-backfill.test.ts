import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chunkLimits } from "../../../../collector/config.ts";
import { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import { aggregator } from "../../../../collector/ingest/routing.ts";
import { modelKey } from "../../../../collector/registry/model-key.ts";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, ClassificationSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { publishManifest, rng, TOTALS_BY_GRANULARITY } from "../../ingest-helpers.ts";
import { call, createKey, unique } from "../../registry-helpers.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

// The fleet of docs/scale.md: 200 numeric and 20 categorical features, segments appVersion (3)
// × country (5), a day of reports backfilled in random order, 20 rows a report.
const NUMERIC = 200;
const CATEGORICAL = 20;
const CATEGORIES = ["a", "b", "c", "d", "e"];
const LABELS = ["no", "yes"];
const ROWS = 20;
const DAY_MS = 86_400_000;

function wideManifest(model: string, sha256: string, size: number): Manifest {
  const numeric = Array.from({ length: NUMERIC }, (_, i) => `n${i}`);
  const categorical = Array.from({ length: CATEGORICAL }, (_, i) => `c${i}`);
  const features = [
    ...numeric.map((name, index) => ({ name, kind: "numeric" as const, input: "features", index, policy: "reject" as const })),
    ...categorical.map((name, i) => ({ name, kind: "categorical" as const, input: "features", index: NUMERIC + i, categories: CATEGORIES, encoding: "index" as const, policy: "reject" as const })),
  ];
  const reference = sketchesOf(5_000, 1);
  return {
    format: 1,
    model,
    sha256,
    size,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, NUMERIC + CATEGORICAL] }],
    features,
    outputs: [{ name: "probabilities", kind: "probabilities", labels: LABELS }],
    profile: {
      format: 1,
      rows: 5_000,
      createdAt: "2026-01-01T00:00:00Z",
      features: Object.fromEntries(Object.entries(reference.features).map(([name, b64]) => [name, { kind: name.startsWith("n") ? "numeric" : "categorical", sketch: b64 }])),
      prediction: { kind: "classification", sketch: reference.prediction },
    },
  } as Manifest;
}

/** Base64 sketches of `rows` rows of every feature and the prediction. */
function sketchesOf(rows: number, seed: number): { features: Record<string, string>; prediction: string } {
  const r = rng(seed);
  const features: Record<string, string> = {};
  for (let f = 0; f < NUMERIC; f++) {
    const s = new NumericSketch();
    for (let i = 0; i < rows; i++) s.update(f % 2 ? Math.exp(r() * 3) : Math.round(r() * 100));
    features[`n${f}`] = toBase64(s.encode());
  }
  for (let f = 0; f < CATEGORICAL; f++) {
    const s = new CategoricalSketch(CATEGORIES);
    for (let i = 0; i < rows; i++) s.update(CATEGORIES[Math.floor(r() ** 2 * CATEGORIES.length)]!);
    features[`c${f}`] = toBase64(s.encode());
  }
  const p = new ClassificationSketch(LABELS);
  for (let i = 0; i < rows; i++) addProbabilities(p, [0.7, 0.3 + r() * 0.1]);
  return { features, prediction: toBase64(p.encode()) };
}

/**
 * `count` reports spread over the last day in random order, one client each: about 2,800
 * distinct minute × segment keys for 3,000 reports. 40 distinct sketch sets are reused: what
 * is measured is what the aggregator holds, not how the test makes its input.
 */
function backfill(model: string, version: number, count: number, seed: number): Report[] {
  const r = rng(seed);
  const pool = Array.from({ length: 40 }, (_, i) => sketchesOf(ROWS, 100 + i));
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  return Array.from({ length: count }, (_, i) => {
    const start = now - 60_000 - Math.floor(r() * (DAY_MS / 60_000)) * 60_000 + 1_000;
    const sketches = pool[i % pool.length]!;
    return {
      id: `bf-${seed}-${i}`,
      model,
      version,
      role: "live",
      client: `device-${seed}-${i}`,
      start,
      end: start + 30_000,
      segment: { appVersion: `4.${Math.floor(r() * 3)}`, country: ["de", "fr", "us", "br", "in"][Math.floor(r() * 5)]! },
      rows: ROWS,
      sampleRate: 1,
      features: sketches.features,
      prediction: sketches.prediction,
    } satisfies Report;
  });
}

async function storedReports(model: string): Promise<Record<string, number>> {
  const rows = await env.DB.prepare(TOTALS_BY_GRANULARITY).bind(model, model).all<{ granularity: string; reports: number }>();
  return Object.fromEntries(rows.results.map((x) => [x.granularity, x.reports]));
}

/** Two chunks (one filling, one being written) and one report's aggregate over a chunk's limit. */
const PEAK_BOUND = 2 * chunkLimits(env).bytes + 1024 * 1024;

describe("a day's backlog of a 220-feature model", () => {
  it("is taken in with bounded memory, live and after a restart with a large log, and counted exactly", { timeout: 600_000 }, async () => {
    const model = unique("backfill");
    const version = await publishManifest(model, (sha, size) => wideManifest(model, sha, size));
    const key = modelKey("default", model);
    const { token } = await createKey("default", "ingest");
    // INGEST_SHARDS is 3 in tests: one client per report spreads the day over every shard
    const live = backfill(model, version, 3_000, 1);
    const keys = new Set(live.map((x) => `${Math.floor(x.start / 60_000)}|${x.segment.appVersion}|${x.segment.country}`));
    expect(keys.size).toBeGreaterThan(2_700);
    for (let i = 0; i < live.length; i += 50) {
      const res = await call("POST", "/v1/reports", { token, json: { reports: live.slice(i, i + 50) } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { accepted: string[] }).accepted).toHaveLength(Math.min(50, live.length - i));
    }
    const shards = [0, 1, 2].map((s) => aggregator(env, key, s));
    for (const stub of shards) await stub.flush();
    expect(await storedReports(key)).toEqual({ minute: 3_000, hour: 3_000, day: 3_000 });
    const peaks = await Promise.all(shards.map(async (stub) => (await stub.stats()).peakPendingBytes));
    console.info(`peak pending bytes of the 3 shards, live: ${peaks.join(", ")} (bound ${PEAK_BOUND})`);
    expect(Math.max(...peaks)).toBeLessThanOrEqual(PEAK_BOUND);

    // D1 is down for the next 1,000 reports (flushes fail, the logs grow), then the objects are
    // replaced (a deploy, an eviction): each comes up at once and drains its log in chunks
    const later = backfill(model, version, 1_000, 2);
    await Promise.all(
      shards.map((stub) =>
        runInDurableObject(stub, (instance: ModelAggregator) => {
          (instance as unknown as { env: Env }).env = { ...env, DB: failingFlushes(env.DB) };
        }),
      ),
    );
    for (let i = 0; i < later.length; i += 50) {
      expect((await call("POST", "/v1/reports", { token, json: { reports: later.slice(i, i + 50) } })).status).toBe(200);
    }
    let logged = 0;
    for (const stub of shards) {
      // the replaced instance keeps failing (it would be gone in production: two instances of
      // one object never run at once there), so only the fresh one writes
      logged += await runInDurableObject(stub, async (_old: ModelAggregator, state) => {
        const fresh = new ModelAggregator(state, env);
        await state.blockConcurrencyWhile(async () => {});
        const before = fresh.stats().pending;
        await fresh.flush();
        const after = fresh.stats();
        expect(after.pending).toBe(0);
        console.info(`shard drained its log of ${before} reports after a restart; peak pending bytes ${after.peakPendingBytes}`);
        expect(after.peakPendingBytes).toBeLessThanOrEqual(PEAK_BOUND);
        return before;
      });
    }
    expect(logged).toBe(1_000);
    expect(await storedReports(key)).toEqual({ minute: 4_000, hour: 4_000, day: 4_000 });
  });
});

/** D1 where every statement touching aggregates fails: flushes fail, ingest's own reads work. */
function failingFlushes(real: D1Database): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => target.prepare(/aggregate/.test(query) ? "insert into no_such_table values (?1)" : query);
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
