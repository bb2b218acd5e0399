import { onnxLikeBytes } from "../fixtures/onnx-like-bytes.ts";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { sha256Hex } from "../../protocol/hash.ts";
import type { Manifest } from "../../protocol/schema/manifest.ts";
import { CategoricalSketch, ClassificationSketch, NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { addProbabilities } from "../../protocol/sketch/prediction.ts";

/** The bootstrap admin token the Worker runs with in tests. */
export const BOOTSTRAP = env.ADMIN_TOKEN;

/** Options of {@link call}. */
export interface CallOptions {
  token?: string | undefined;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/**
 * One request to the collector through its real fetch handler.
 *
 * @param method - HTTP method
 * @param path - path and query
 * @param options - bearer token, JSON body or raw body, extra headers
 */
export function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = JSON.stringify(options.json);
  }
  return exports.default.fetch(new Request(`http://collector${path}`, { method, headers, body }));
}

/**
 * Asserts an error answer: the status and the `{error: {code, message}}` envelope.
 *
 * @param res - the answer
 * @param status - expected status
 * @param code - expected code
 * @returns the message
 */
export async function expectError(res: Response, status: number, code: string): Promise<string> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe("string");
  return body.error.message;
}

let counter = 0;

/**
 * A name unique within the test run (apps are global, and tests share the bootstrap key's "default" app).
 *
 * @param prefix - readable part
 */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/**
 * A new key of `app` with `role`, made by the bootstrap key.
 *
 * @param app - the app
 * @param role - the role
 */
export async function createKey(app: string, role: "ingest" | "read" | "admin"): Promise<{ id: string; token: string }> {
  const res = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app, role, label: `${role} of ${app}` } });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; token: string };
}

/**
 * Model bytes that read as an ONNX model and are distinct every call, so every version has its
 * own artifact.
 *
 * @param size - total bytes, 8 to 16,389
 */
export function modelBytes(size = 256): Uint8Array {
  return onnxLikeBytes(size);
}

/**
 * Uploads `bytes` as an artifact.
 *
 * @param bytes - the model bytes
 * @param token - an admin token
 * @returns the artifact's sha256
 */
export async function upload(bytes: Uint8Array, token = BOOTSTRAP): Promise<string> {
  const sha = await sha256Hex(bytes);
  const res = await call("PUT", `/v1/artifacts/${sha}`, { token, body: bytes });
  expect(res.status).toBe(201);
  return sha;
}

/**
 * A valid manifest of a two-feature churn-like classifier (tenure numeric, plan categorical)
 * with a real reference profile.
 *
 * @param model - the model name
 * @param sha256 - artifact hash
 * @param size - artifact size
 */
export function manifestFor(model: string, sha256: string, size: number): Manifest {
  const tenure = new NumericSketch({ range: { min: 0, max: 120 } });
  const plan = new CategoricalSketch(["basic", "pro"]);
  const prediction = new ClassificationSketch(["no", "yes"]);
  for (let i = 0; i < 200; i++) {
    tenure.update(i % 72);
    plan.update(i % 3 ? "basic" : "pro");
    addProbabilities(prediction, [1 - (i % 10) / 10, (i % 10) / 10]);
  }
  return twoFeatureManifest({ model, sha256, size }, { name: "tenure", sketch: tenure }, { name: "plan", sketch: plan }, { rows: 200, prediction });
}

/**
 * A manifest of a model with one numeric and one categorical feature (columns 0 and 1 of input
 * `features`, policy reject) whose reference profile holds the given sketches; the output is class
 * probabilities over the prediction sketch's labels, or a regression for a numeric prediction.
 *
 * @param artifact - model name, artifact hash and size
 * @param numeric - the numeric feature and its reference sketch (its range becomes the schema's)
 * @param categorical - the categorical feature and its reference sketch (its categories become the schema's)
 * @param reference - reference rows and prediction sketch
 */
export function twoFeatureManifest(
  artifact: { model: string; sha256: string; size: number },
  numeric: { name: string; sketch: NumericSketch },
  categorical: { name: string; sketch: CategoricalSketch },
  reference: { rows: number; prediction: ClassificationSketch | NumericSketch },
): Manifest {
  const { prediction } = reference;
  const range = numeric.sketch.range;
  const categories = [...categorical.sketch.categories];
  return {
    format: 1,
    ...artifact,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, 2] }],
    features: [
      { name: numeric.name, kind: "numeric", input: "features", index: 0, ...(range && { range: { ...range } }), policy: "reject" },
      { name: categorical.name, kind: "categorical", input: "features", index: 1, categories, encoding: "index", policy: "reject" },
    ],
    outputs: [prediction instanceof ClassificationSketch ? { name: "probabilities", kind: "probabilities", labels: [...prediction.labels] } : { name: "score", kind: "regression" }],
    profile: {
      format: 1,
      rows: reference.rows,
      createdAt: "2026-01-01T00:00:00Z",
      features: {
        [numeric.name]: { kind: "numeric", sketch: toBase64(numeric.sketch.encode()) },
        [categorical.name]: { kind: "categorical", sketch: toBase64(categorical.sketch.encode()) },
      },
      prediction: { kind: prediction instanceof ClassificationSketch ? "classification" : "regression", sketch: toBase64(prediction.encode()) },
    },
  };
}

/**
 * Uploads fresh bytes and publishes them as the next version of `model`, both with `token`
 * (an app may only publish bytes it uploaded).
 *
 * @param model - the model name
 * @param token - an admin token
 * @param extra - more body fields (`app`, `publisher`)
 * @returns the answer's JSON (the version)
 */
export async function publish(model: string, token = BOOTSTRAP, extra: Record<string, unknown> = {}): Promise<{ version: number; sha256: string }> {
  const bytes = modelBytes();
  const sha = await upload(bytes, token);
  const res = await call("POST", `/v1/models/${model}/versions`, { token, json: { manifest: manifestFor(model, sha, bytes.length), ...extra } });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { version: number; sha256: string };
}

/**
 * Sets the rollout of `model` and returns the answer's JSON.
 *
 * @param model - the model name
 * @param change - the PUT body
 * @param token - an admin token
 */
export async function rollout(model: string, change: unknown, token = BOOTSTRAP) {
  const res = await call("PUT", `/v1/models/${model}/rollout`, { token, json: change });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { changed: boolean; action: string | null; rollout: Record<string, unknown> & { configVersion: number } };
}

/**
 * Sets a model's alert configuration (`PUT /v1/models/:model/alerts`), asserting it was taken.
 *
 * @param model - the model name
 * @param config - the configuration
 */
export async function setAlerts(model: string, config: Record<string, unknown>): Promise<void> {
  const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config });
  expect(put.status, await put.clone().text()).toBe(200);
}

/**
 * A new model of a stable version and a canary on half the clients, with `config` as its alert
 * configuration, and an ingest key of its app.
 *
 * @param prefix - the model name's prefix
 * @param config - the alert configuration
 */
export async function canaryWithAlerts(prefix: string, config: Record<string, unknown>): Promise<{ model: string; v1: number; v2: number; token: string }> {
  const model = unique(prefix);
  const { version: v1 } = await publish(model);
  const { version: v2 } = await publish(model);
  await rollout(model, { stable: v1, canary: { version: v2, percent: 50 } });
  const { token } = await createKey("default", "ingest");
  await setAlerts(model, config);
  return { model, v1, v2, token };
}
