import { signatureProblem } from "../protocol/signature.ts";
import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import { sha256Hex } from "../protocol/hash.ts";
import { openSession, type BackendChoice, type SessionContext } from "./backend.ts";
import { compile, type Plan } from "./validate.ts";
import { zeroFeeds } from "./tensors.ts";
import { mediaModule, mediaPlan, sdkOf } from "./media.ts";
import type { Api } from "./api.ts";
import type { Assignment, EmbeddingProjection, EncodeText, Manifest, MediaModules, MediaPlan, TensorStats } from "./types.ts";

/** A loaded model version, ready to run. */
export interface Model extends BackendChoice {
  version: number;
  manifest: Manifest;
  plan: Plan;
  /** How its image, audio, text and plain tensor inputs are filled; undefined for a tabular model. */
  media: MediaPlan | undefined;
  /** The manifest's embedding projection, when it has an embedding (an output, or vectors the app passes to `embed()`). */
  projector: EmbeddingProjection | undefined;
  /** What describes the tensors of `run()` calls, when the manifest names some in `tensorStats`. */
  tensors: TensorStats | undefined;
  /** The features reports carry besides the manifest's: the media inputs' descriptors, then the tensor statistics. */
  derived: readonly string[];
  /** Runs in flight; a retired model is released when it reaches 0. */
  inflight: number;
  retired?: boolean;
}

/** What {@link loadModel} needs besides the manifest. */
export interface LoaderContext extends SessionContext {
  api: Api;
  /** The collector's base URL: media modules come from its `/sdk/`. */
  collector: string;
  /** Media modules the app passed, and its text encoder. */
  media?: MediaModules | undefined;
  /** How long a download (of the model, onnxruntime-web, an optional module) may stall. */
  timeoutMs: number;
  encodeText?: EncodeText | undefined;
  /** Publishers' public keys; when given, only manifests one of them signed are run. */
  trust?: readonly string[] | undefined;
}

/** Model bytes already being read from the store, and which: the version last served, read at start-up. */
export interface ReadAhead {
  sha256: string;
  bytes: Promise<Uint8Array | undefined>;
}

/**
 * The model bytes of `manifest`: from the store when they are there and still hash right (`ahead`
 * when it names them), else downloaded (no more than the manifest's `size`), verified and
 * stored. Throws `download` or `integrity`.
 *
 * @param ctx - api and store
 * @param manifest - says which bytes (sha256)
 * @param url - where to download them
 * @param ahead - bytes already being read from the store
 */
export async function modelBytes(ctx: LoaderContext, manifest: Manifest, url: string, ahead?: ReadAhead): Promise<Uint8Array> {
  const { sha256 } = manifest;
  const cached = await (ahead?.sha256 === sha256 ? ahead.bytes : ctx.store.get<Uint8Array>("models", sha256)).catch(() => undefined);
  if (cached && (await sha256Hex(cached)) === sha256) return cached;
  if (cached) await ctx.store.delete("models", sha256).catch(() => {});
  let bytes: Uint8Array;
  try {
    bytes = await ctx.api.artifact(url, manifest.size);
  } catch (err) {
    // past the manifest's size (an error answer never carries `integrity`: runtime/api.ts)
    if (isDriftlineError(err) && err.code === "integrity") throw err;
    throw new DriftlineError("download", `model ${sha256.slice(0, 12)}: ${(err as Error).message}`, err);
  }
  if ((await sha256Hex(bytes)) !== sha256) throw new DriftlineError("integrity", `not ${sha256}`);
  await ctx.store.put("models", sha256, bytes).catch((err) => console.warn("driftline: not cached", err));
  return bytes;
}

/**
 * Loads one version: the manifest's signature checked against `trust` (when given), bytes
 * (cached or downloaded, SHA-256 verified before storing and again before use), session on the
 * chosen backend, warm-up. Throws DriftlineError `integrity` for a signature or hash that does
 * not hold: such a version never runs.
 *
 * @param ctx - seams and backend wish
 * @param a - the version number, its manifest and artifact URL (default `/v1/artifacts/{sha256}`)
 * @param ahead - model bytes already being read from the store (used when they are this version's)
 */
export async function loadModel(ctx: LoaderContext, a: Pick<Assignment, "version" | "manifest" | "artifactUrl">, ahead?: ReadAhead): Promise<Model> {
  const { version, manifest } = a;
  if (ctx.trust) {
    const problem = await signatureProblem(manifest, ctx.trust);
    if (problem) throw new DriftlineError("integrity", `version ${version}: ${problem}`);
  }
  const bytes = await modelBytes(ctx, manifest, a.artifactUrl ?? `/v1/artifacts/${manifest.sha256}`, ahead);
  const source = { sdk: sdkOf(ctx.collector), given: ctx.media, timeoutMs: ctx.timeoutMs, store: ctx.store };
  const media = await mediaPlan(manifest, source, ctx.encodeText);
  const plan = compile(manifest, media?.features.length);
  const { embedding } = manifest;
  const projector = embedding ? (await mediaModule("embedding", source))(embedding) : undefined;
  const tensors = manifest.tensorStats ? (await mediaModule("tensors", source))(manifest.tensorStats) : undefined;
  // openSession throws DriftlineError `backend` only
  // zeros may not fit an input the app passes as a plain tensor (a sample rate): its warm-up may fail
  const session = await openSession(ctx, manifest, bytes, (ort) => zeroFeeds(ort, manifest, plan), plan.plain);
  const derived = [...(media?.features ?? []), ...(tensors?.features ?? [])];
  return { ...session, version, manifest, plan, media, projector, tensors, derived, inflight: 0 };
}

/**
 * Releases a retired model's session once nothing runs on it any more.
 *
 * @param m - the model
 */
export function releaseIfIdle(m: Model): void {
  if (m.retired && !m.inflight) void m.session.release().catch(() => {});
}
