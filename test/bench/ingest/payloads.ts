// Manifest and report bodies of the ingest bench: a 30-feature regression model and reports
// sketched with protocol/'s sketches the way the runtime builds them.
import { sha256Hex } from "../../../protocol/hash.ts";
import { onnxLikeBytes } from "../../fixtures/onnx-like-bytes.ts";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import type { Report } from "../../../protocol/schema/report.ts";
import { LatencySketch, NumericSketch, toBase64 } from "../../../protocol/sketch/index.ts";
import { rng } from "../../unit/protocol/datasets.ts";

/** Features of the bench model. */
export const FEATURES = 30;

const names = Array.from({ length: FEATURES }, (_, i) => `f${String(i).padStart(2, "0")}`);

/**
 * The bench model's manifest, with a reference profile of `rows` rows.
 *
 * @param model - model name
 * @param sha256 - artifact hash
 * @param size - artifact size
 * @param rows - reference rows
 */
export function benchManifest(model: string, sha256: string, size: number, rows = 5000): Manifest {
  const r = rng(1);
  const features = names.map(() => new NumericSketch());
  const prediction = new NumericSketch();
  for (let i = 0; i < rows; i++) {
    features.forEach((s, j) => s.update(j + r() * 10));
    prediction.update(r());
  }
  return {
    format: 1,
    model,
    sha256,
    size,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, FEATURES] }],
    features: names.map((name, index) => ({ name, kind: "numeric" as const, input: "features", index, policy: "reject" as const })),
    outputs: [{ name: "score", kind: "regression" }],
    profile: {
      format: 1,
      rows,
      createdAt: "2026-01-01T00:00:00Z",
      features: Object.fromEntries(names.map((n, j) => [n, { kind: "numeric" as const, sketch: toBase64(features[j]!.encode()) }])),
      prediction: { kind: "regression", sketch: toBase64(prediction.encode()) },
    },
  };
}

/** The sketch part of a report: the same for many reports, so senders only stamp ids. */
export interface ReportBody {
  rows: number;
  features: Record<string, string>;
  prediction: string;
  latency: string;
}

/**
 * `count` distinct report bodies of `rows` rows each.
 *
 * @param count - how many
 * @param rows - rows per report
 */
export function reportBodies(count: number, rows: number): ReportBody[] {
  return Array.from({ length: count }, (_, k) => {
    const r = rng(100 + k);
    const features = names.map(() => new NumericSketch());
    const prediction = new NumericSketch();
    const latency = new LatencySketch();
    for (let i = 0; i < rows; i++) {
      features.forEach((s, j) => s.update(j + r() * 10 + (k % 2)));
      prediction.update(r());
      latency.update("wasm", 0.02 + r() * 0.05);
    }
    return {
      rows,
      features: Object.fromEntries(names.map((n, j) => [n, toBase64(features[j]!.encode())])),
      prediction: toBase64(prediction.encode()),
      latency: toBase64(latency.encode()),
    };
  });
}

const BACKENDS = ["wasm", "webgpu"];
const APP_VERSIONS = ["4.1", "4.2", "4.3"];

/**
 * One report: a body stamped with id, client, time and a segment.
 *
 * @param model - model
 * @param version - version
 * @param body - the sketches
 * @param n - a sequence number (id, client and segment derive from it)
 * @param start - start of the period, epoch ms
 */
export function stamp(model: string, version: number, body: ReportBody, n: number, start: number): Report {
  return {
    id: `bench-${n.toString(36)}`,
    model,
    version,
    role: "live",
    client: `client-${n % 5000}`,
    start,
    end: start + 10_000,
    segment: { backend: BACKENDS[n % 2]!, appVersion: APP_VERSIONS[n % 3]! },
    sampleRate: 1,
    ...body,
  };
}

export { sha256Hex, onnxLikeBytes };
