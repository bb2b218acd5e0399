import { expect } from "vitest";
import type { Manifest } from "../../protocol/schema/manifest.ts";
import type { Report } from "../../protocol/schema/report.ts";
import type { Estimation } from "../../protocol/schema/profile.ts";
import { CONFIDENCE_BINS, addProbabilities } from "../../protocol/sketch/prediction.ts";
import { CategoricalSketch, ClassificationSketch, ErrorCounts, LatencySketch, NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { modelKey } from "../../collector/registry/model-key.ts";
import { BOOTSTRAP, call, createKey, manifestFor, modelBytes, publish, rollout, unique, upload } from "./registry-helpers.ts";

export { rng } from "../unit/protocol/datasets.ts";

let counter = 0;

/** Options of {@link makeReport}. */
export interface ReportOptions {
  client?: string;
  start?: number;
  segment?: Record<string, string>;
  /** Tenure values (numeric feature, range 0..120). */
  tenure?: number[];
  /** Tenure missing in every row (the rows as many as `tenure` has values). */
  tenureMissing?: boolean;
  /** Plan values (categorical feature over basic, pro). */
  plan?: (string | null)[];
  errors?: Record<string, number>;
  latencyMs?: number[];
  backend?: string;
}

/**
 * A report of the two-feature model of `manifestFor` (registry-helpers): one row per tenure
 * value, with prediction, latency and errors sketched the way the runtime does.
 *
 * @param model - the model
 * @param version - its version
 * @param options - rows, segment, client, time
 */
export function makeReport(model: string, version: number, options: ReportOptions = {}): Report {
  const tenure = options.tenure ?? [1, 2, 3];
  const t = new NumericSketch({ range: { min: 0, max: 120 } });
  const p = new CategoricalSketch(["basic", "pro"]);
  const prediction = new ClassificationSketch(["no", "yes"]);
  const latency = new LatencySketch();
  tenure.forEach((x, i) => {
    t.update(options.tenureMissing ? null : x);
    p.update(options.plan ? options.plan[i % options.plan.length] : i % 2 ? "pro" : "basic");
    addProbabilities(prediction, [0.7, 0.3]);
    latency.update(options.backend ?? "wasm", options.latencyMs?.[i % options.latencyMs.length] ?? 1);
  });
  const errors = new ErrorCounts();
  for (const [code, n] of Object.entries(options.errors ?? {})) errors.update(code, n);
  const start = options.start ?? Date.now();
  return {
    id: `r-${Date.now().toString(36)}-${(counter++).toString(36)}`,
    model,
    version,
    role: "live",
    client: options.client ?? `client-${counter}`,
    start,
    end: start + 1000,
    segment: options.segment ?? {},
    rows: tenure.length,
    sampleRate: 1,
    features: { tenure: toBase64(t.encode()), plan: toBase64(p.encode()) },
    prediction: toBase64(prediction.encode()),
    latency: toBase64(latency.encode()),
    ...(errors.counts.size > 0 && { errors: toBase64(errors.encode()) }),
  };
}

/**
 * A live report of client `client-${i}` over 30 s from `start`, holding the given sketches.
 *
 * @param model - the model
 * @param version - its version
 * @param i - client number (also in the report id)
 * @param parts - period start, segment, rows, feature sketches by name, prediction sketch
 */
export function sketchReport(
  model: string,
  version: number,
  i: number,
  parts: { start: number; segment: Record<string, string>; rows: number; features: Record<string, { encode(): Uint8Array }>; prediction: { encode(): Uint8Array } },
): Report {
  return {
    id: `${model}-${i}`,
    model,
    version,
    role: "live",
    client: `client-${i}`,
    start: parts.start,
    end: parts.start + 30_000,
    segment: parts.segment,
    rows: parts.rows,
    sampleRate: 1,
    features: Object.fromEntries(Object.entries(parts.features).map(([name, s]) => [name, toBase64(s.encode())])),
    prediction: toBase64(parts.prediction.encode()),
  };
}

/** The answer of `POST /v1/reports`. */
export interface ReportAnswer {
  accepted: string[];
  duplicates: string[];
  rejected: { id: string | null; code: string; message: string }[];
  assignment: { model: string; version: number; configVersion: number; role: string } | null;
}

/**
 * Posts a batch and returns the 200 answer.
 *
 * @param token - an ingest key
 * @param reports - the batch
 */
export async function postReports(token: string, reports: unknown[]): Promise<ReportAnswer> {
  const res = await call("POST", "/v1/reports", { token, json: { reports } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as ReportAnswer;
}

/**
 * Flushes every aggregator shard of `model` to D1.
 *
 * @param model - the model
 * @param token - an admin key of the model's app
 */
export async function flush(model: string, token = BOOTSTRAP): Promise<void> {
  const res = await call("POST", `/v1/reports/flush?model=${model}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
}

/**
 * What most ingest tests start from: a fresh model with one version, stable, and an ingest key;
 * `key` is the model's internal key (what D1 rows and aggregator objects are stored under).
 *
 * @param prefix - the model name's prefix
 */
export async function liveModel(prefix: string): Promise<{ model: string; key: string; version: number; token: string }> {
  const model = unique(prefix);
  const { version } = await publish(model);
  await rollout(model, { stable: version });
  const { token } = await createKey("default", "ingest");
  return { model, key: modelKey("default", model), version, token };
}

/**
 * A manifest whose features are all numeric, read in order from one float32 input, each with its
 * reference sketch.
 *
 * @param file - the model's name, and its bytes' SHA-256 and size
 * @param references - per feature, its reference sketch, in input order
 * @param rows - the reference's rows
 * @param output - the model's one output, with the reference sketch of its predictions if it has one
 */
export function numericManifest(
  file: { model: string; sha256: string; size: number },
  references: Record<string, NumericSketch>,
  rows: number,
  output: { spec: Manifest["outputs"][number]; prediction?: NonNullable<Manifest["profile"]>["prediction"] },
): Manifest {
  const names = Object.keys(references);
  return {
    format: 1,
    ...file,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, names.length] }],
    features: names.map((name, index) => ({ name, kind: "numeric" as const, input: "features", index, policy: "reject" as const })),
    outputs: [output.spec],
    profile: {
      format: 1,
      rows,
      createdAt: "2026-01-01T00:00:00Z",
      features: Object.fromEntries(names.map((name) => [name, { kind: "numeric" as const, sketch: toBase64(references[name]!.encode()) }])),
      ...(output.prediction && { prediction: output.prediction }),
    },
  } as Manifest;
}

/**
 * Uploads fresh bytes and publishes a version whose manifest `build` makes from their hash
 * and size; makes it the stable version.
 *
 * @param model - the model
 * @param build - the manifest for (sha256, size)
 * @returns the version number
 */
export async function publishManifest(model: string, build: (sha256: string, size: number) => Manifest): Promise<number> {
  const bytes = modelBytes();
  const sha = await upload(bytes);
  const res = await call("POST", `/v1/models/${model}/versions`, { token: BOOTSTRAP, json: { manifest: build(sha, bytes.length) } });
  expect(res.status, await res.clone().text()).toBe(201);
  const { version } = (await res.json()) as { version: number };
  const set = await call("PUT", `/v1/models/${model}/rollout`, { token: BOOTSTRAP, json: { stable: version } });
  expect(set.status, await set.clone().text()).toBe(200);
  return version;
}

/**
 * Publishes (and makes stable) a version of the no/yes test model whose profile has a baseline
 * accuracy of 0.9 and a fit for label-free estimates (protocol/performance-estimate.ts): each
 * class's predictions right with the given chance at every confidence, misses to the other class.
 *
 * @param model - the model
 * @param right - chance a prediction of "no", of "yes", is right
 * @param band - the fit's band
 * @returns the version
 */
export async function publishWithEstimation(model: string, right: [number, number], band: Estimation["band"]): Promise<number> {
  const estimation = {
    curves: right.map((p) => new Array<number>(CONFIDENCE_BINS).fill(p)),
    misses: [
      [0, 1],
      [1, 0],
    ],
    band,
  };
  const calibration = { confidence: [], accuracy: [], count: [] };
  const baseline = { kind: "classification" as const, labelled: 500, accuracy: 0.9, precision: {}, recall: {}, f1: {}, log_loss: 0.3, calibration, estimation };
  return publishManifest(model, (sha, size) => {
    const m = manifestFor(model, sha, size);
    m.profile.performance = baseline;
    return m;
  });
}

/**
 * `n` client ids (`prefix` and a number) the model's rollout gives `version` now, found through
 * `GET /v1/assignment` as any client (or attacker) could.
 *
 * @param model - the model
 * @param token - an ingest key (each lookup counts against its rate limit)
 * @param version - the version wanted
 * @param n - how many ids
 * @param prefix - the ids' prefix
 */
export async function clientsGiven(model: string, token: string, version: number, n: number, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; found.length < n; i++) {
    const res = await call("GET", `/v1/assignment?model=${model}&client=${prefix}${i}`, { token });
    expect(res.status, await res.clone().text()).toBe(200);
    const { version: given } = (await res.json()) as { version: number };
    if (given === version) found.push(`${prefix}${i}`);
  }
  return found;
}

/**
 * A standard normal draw (Box–Muller).
 *
 * @param r - a uniform generator
 */
export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * SQL (bind the model twice): unsliced reports stored per window size, where a day counts its
 * day rows and its hour rows not yet rolled into them (as readers do).
 */
export const TOTALS_BY_GRANULARITY = `select granularity, sum(reports) as reports from (
    select granularity, reports from aggregates where model = ?1 and segment = ''
    union all select 'day', reports from aggregates where model = ?2 and segment = '' and granularity = 'hour' and rolled = 0
  ) group by granularity`;
