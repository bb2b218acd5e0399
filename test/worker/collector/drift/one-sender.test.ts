import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../../collector/index.ts";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import type { Manifest } from "../../../../protocol/schema/index.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { ClassificationSketch, ConfusionMatrix, ErrorCounts, LatencySketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { clientsGiven, flush, normal, numericManifest, publishManifest, rng } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, unique } from "../../registry-helpers.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";

/** The setting: a model of 30 numeric features whose reference is 500 standard normal rows. */
const FEATURES = Array.from({ length: 30 }, (_, i) => `f${i}`);

/** Feature sketches, prediction and row count of `rows` rows drawn by `value(feature, row)`. */
function sketches(rows: number, value: (f: number, row: number) => number) {
  const features = FEATURES.map(() => new NumericSketch());
  const prediction = new ClassificationSketch(["no", "yes"]);
  for (let i = 0; i < rows; i++) {
    const x = FEATURES.map((_, f) => value(f, i));
    x.forEach((v, f) => features[f]!.update(v));
    const p = 1 / (1 + Math.exp(-x[0]!));
    addProbabilities(prediction, [1 - p, p]);
  }
  return { features, prediction };
}

/** The manifest of that model; a reference of over 1,000 rows is judged by normed Wasserstein instead of KS. */
function manifest(model: string, sha256: string, size: number, referenceRows = 500): Manifest {
  const r = rng(1);
  const { features, prediction } = sketches(referenceRows, () => normal(r));
  return numericManifest({ model, sha256, size }, Object.fromEntries(FEATURES.map((name, f) => [name, features[f]!])), referenceRows, {
    spec: { name: "probabilities", kind: "probabilities", labels: ["no", "yes"] },
    prediction: { kind: "classification", sketch: toBase64(prediction.encode()) },
  });
}

let reportCount = 0;

/** A live report of 20 rows (or `rows`) drawn by `value`, with latency and errors. */
function report(model: string, version: number, client: string, start: number, parts: { rows: number; value: (f: number, row: number) => number; latencyMs: number; errors: number }): Report {
  const { features, prediction } = sketches(parts.rows, parts.value);
  const latency = new LatencySketch();
  for (let i = 0; i < parts.rows; i++) latency.update("wasm", parts.latencyMs);
  const errors = new ErrorCounts();
  if (parts.errors > 0) errors.update("session", parts.errors);
  return {
    id: `one-sender-${reportCount++}`,
    model,
    version,
    role: "live",
    client,
    start,
    end: start + 1000,
    segment: {},
    rows: parts.rows,
    sampleRate: 1,
    features: Object.fromEntries(FEATURES.map((name, f) => [name, toBase64(features[f]!.encode())])),
    prediction: toBase64(prediction.encode()),
    latency: toBase64(latency.encode()),
    ...(parts.errors > 0 && { errors: toBase64(errors.encode()) }),
  };
}

/** Posts a batch as if from `ip` (wrangler dev and Cloudflare set CF-Connecting-IP). */
async function post(token: string, ip: string, reports: Report[]) {
  const res = await call("POST", "/v1/reports", { token, json: { reports }, headers: { "CF-Connecting-IP": ip } });
  expect(res.status, await res.clone().text()).toBe(200);
  const answer = (await res.json()) as { accepted: string[]; rejected: unknown[] };
  expect(answer.rejected).toEqual([]);
  return answer;
}

async function driftedFeatures(model: string, version: number, from: number, token: string): Promise<{ drifted: string[]; answer: DriftAnswer }> {
  const res = await call("GET", `/v1/drift?model=${model}&version=${version}&from=${from}&to=${from + 60_000}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  const answer = (await res.json()) as DriftAnswer;
  return {
    drifted: Object.entries(answer.features)
      .filter(([, f]) => f.drifted)
      .map(([name]) => name),
    answer,
  };
}

describe("one sender cannot steer a verdict", () => {
  it("keeps a window of 400 honest rows from 20 clients judged as they are whatever one address sends, and the canary in place", async () => {
    const model = unique("one-sender");
    const v1 = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const v2 = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const set = await call("PUT", `/v1/models/${model}/rollout`, { token: BOOTSTRAP, json: { stable: v1, canary: { version: v2, percent: 50 } } });
    expect(set.status, await set.clone().text()).toBe(200);
    const alerts = { webhook: "https://hooks.example.test/one-sender", datasetDrift: 0.5, featureDrift: ["*"], errorRate: 0.2, latencyP95Ms: 50, windowMinutes: 2, minRows: 10, autoRollback: true };
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: alerts });
    expect(put.status, await put.clone().text()).toBe(200);
    const { token } = await createKey("default", "ingest");
    const { token: read } = await createKey("default", "read");
    // assignment lookups count against a key's rate limit too: they get a key of their own
    const { token: scout } = await createKey("default", "ingest");

    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const window = base + 60_000;
    const honestRows = (seed: number, shift = 0) => {
      const r = rng(seed);
      return { rows: 20, value: () => normal(r) + shift, latencyMs: 5, errors: 0 };
    };
    // 20 honest clients per version, each from its own address, 20 rows each
    for (const [v, prefix] of [
      [v1, "s"],
      [v2, "c"],
    ] as const) {
      const clients = await clientsGiven(model, scout, v, 20, `honest-${prefix}`);
      for (const [i, client] of clients.entries()) await post(token, `198.51.100.${i + (v === v1 ? 0 : 100)}`, [report(model, v, client, window, honestRows(1000 * v + i))]);
    }

    // one address: as many client ids and reports as it likes, each as heavy as the wire allows,
    // every feature far off, every row an error, every latency huge
    const attacker = "203.0.113.66";
    const far = { rows: 100_000, value: () => 1_000, latencyMs: 60_000, errors: 100_000 };
    const heavy = report(model, v2, "x", window, far);
    for (const v of [v1, v2]) {
      const ids = await clientsGiven(model, scout, v, 10, `attacker-${v}-`);
      await post(
        token,
        attacker,
        ids.map((client, i) => ({ ...heavy, id: `attack-${v}-${i}`, version: v, client })),
      );
      // and many light ones that look like any client's
      const light = ids.map((client) => report(model, v, client, window, { rows: 20, value: () => 3, latencyMs: 60_000, errors: 20 }));
      await post(
        token,
        attacker,
        light.map((r, i) => ({ ...r, id: `attack-light-${v}-${i}` })),
      );
    }
    await flush(model);

    for (const v of [v1, v2]) {
      const { drifted, answer } = await driftedFeatures(model, v, window, read);
      expect(drifted.length, `v${v} drifted: ${drifted.join(", ")}`).toBeLessThanOrEqual(2);
      expect(answer.prediction?.drifted).toBe(false);
      // the attacker's two million values weigh at most its budget (1,000 a minute, for all
      // versions) in each of the 3 shards, and that weight is trimmed off every verdict
      expect(answer.features.f0!.count).toBeLessThanOrEqual(400 + 3 * 1_000);
    }

    // the guardrail judges the same window: nothing fires, the canary stays
    await worker.scheduled(createScheduledController({ scheduledTime: base + 3 * 60_000 + 25_000, cron: "* * * * *" }), env);
    const after = await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP });
    expect(await after.json()).toMatchObject({ stable: v1, canary: { version: v2, percent: 50 } });
    const listed = await call("GET", `/v1/alerts?model=${model}`, { token: read });
    const { alerts: fired } = (await listed.json()) as { alerts: { kind: string; state: string }[] };
    expect(fired.filter((a) => a.state === "firing")).toEqual([]);

    // honest fleets keep their power: 20 clients whose data really moved (mean +1) drift
    const later = base + 10 * 60_000;
    const moved = await clientsGiven(model, scout, v1, 20, "moved-");
    for (const [i, client] of moved.entries()) await post(token, `198.51.100.${200 + i}`, [report(model, v1, client, later, honestRows(5000 + i, 1))]);
    await flush(model);
    const { drifted, answer } = await driftedFeatures(model, v1, later, read);
    expect(answer.features.f0!.sender_share).toBeCloseTo(0.05, 2);
    expect(drifted.length).toBeGreaterThanOrEqual(28);
  });

  it("cannot hide a real shift behind label counts: what verdicts trim is what they read", async () => {
    const model = unique("one-sender-labels");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
    const { token } = await createKey("default", "ingest");
    const { token: read } = await createKey("default", "read");
    const { token: scout } = await createKey("default", "ingest");
    const window = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const clients = await clientsGiven(model, scout, version, 20, "moved-");
    for (const [i, client] of clients.entries()) {
      const r = rng(7000 + i);
      await post(token, `198.51.100.${i + 1}`, [report(model, version, client, window, { rows: 20, value: () => normal(r) + 1, latencyMs: 5, errors: 0 })]);
    }
    // one address: ten reports of one row each, with a confusion matrix of a million labels
    const labels = new ConfusionMatrix(["no", "yes"]);
    labels.cells[0] = 1_000_000;
    const light = report(model, version, "x", window, { rows: 1, value: () => 0, latencyMs: 5, errors: 0 });
    const ids = await clientsGiven(model, scout, version, 10, "labels-");
    await post(
      token,
      "203.0.113.67",
      ids.map((client, i) => ({ ...light, id: `labels-${i}`, client, confusion: toBase64(labels.encode()) })),
    );
    await flush(model);
    const { drifted, answer } = await driftedFeatures(model, version, window, read);
    expect(answer.features.f0!.sender_share).toBeLessThan(0.1);
    expect(drifted.length).toBeGreaterThanOrEqual(28);
  });

  it("cannot make a feature drift by Wasserstein with a share of values at the far end of the float range", async () => {
    // the trimmed CDF gap where only the sender's values lie is its share less its share: zero
    // but for rounding and the sketch's rank error, which times a distance of 3e38 was a
    // normed Wasserstein of 1e22 against a threshold of 0.1
    const model = unique("one-sender-far");
    const version = await publishManifest(model, (sha, size) => manifest(model, sha, size, 2_000));
    const { token } = await createKey("default", "ingest");
    const { token: read } = await createKey("default", "read");
    const window = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    for (let i = 0; i < 20; i++) {
      const r = rng(9000 + i);
      await post(token, `198.51.100.${i + 1}`, [report(model, version, `far-honest-${i}`, window, { rows: 20, value: () => normal(r), latencyMs: 5, errors: 0 })]);
    }
    // one address, within its budget: 200 rows of every feature at 3e38, a third of the window's values
    await post(token, "203.0.113.68", [report(model, version, "far-attacker", window, { rows: 200, value: () => 3e38, latencyMs: 5, errors: 0 })]);
    await flush(model);
    const { drifted, answer } = await driftedFeatures(model, version, window, read);
    expect(answer.features.f0!.test).toBe("wasserstein");
    expect(answer.features.f0!.sender_share).toBeCloseTo(1 / 3, 6);
    expect(drifted, `values: ${Object.values(answer.features).map((f) => f.value)}`).toEqual([]);
    // 20 clients whose data really moved (mean +0.5) still drift, judged without the heaviest's 5 %
    const later = window + 5 * 60_000;
    for (let i = 0; i < 20; i++) {
      const r = rng(9500 + i);
      await post(token, `198.51.100.${i + 1}`, [report(model, version, `far-moved-${i}`, later, { rows: 20, value: () => normal(r) + 0.5, latencyMs: 5, errors: 0 })]);
    }
    await flush(model);
    expect((await driftedFeatures(model, version, later, read)).drifted.length).toBeGreaterThanOrEqual(28);
  });
});
