import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import { binaryChecked, canWebGpu, loadOrt, type Ort } from "./ort-loader.ts";
import { runInTurn } from "./session-queue.ts";
import type { Backend, Manifest, ModelStore, Tensor } from "./types.ts";
import type { InferenceSession } from "onnxruntime-web";

/** What {@link openSession} needs: the backend wished, where ORT is, warm-up runs, the store. */
export interface SessionContext {
  store: ModelStore;
  backend: Backend | "auto";
  ortUrl: string;
  warmupRuns: number;
  /** Whether onnxruntime-web's checked files are kept on the device. */
  cache: boolean;
  /** How long onnxruntime-web's download may stall. */
  timeoutMs: number;
}

/** A session on its backend, and why that backend. */
export interface BackendChoice {
  ort: Ort;
  session: InferenceSession;
  backend: Backend;
  /** `option`, `manifest`, `remembered`, `timed`, `untimed` (its warm-up did not run on zeros), `only-wasm` or `fallback`. */
  reason: string;
}

const other = (b: Backend): Backend => (b === "wasm" ? "webgpu" : "wasm");

async function adapter(): Promise<boolean> {
  try {
    return canWebGpu() && !!(await (navigator as unknown as { gpu: { requestAdapter(): Promise<unknown> } }).gpu.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * Creates the session on the right backend and warms it up. An explicit backend is tried
 * alone; `auto` takes the manifest's preference, else the choice remembered for this model on
 * this device, else times both (when a WebGPU adapter exists) and keeps the faster. A model with
 * inputs the app passes as plain tensors may not run on zeros (a sample rate of 0): when
 * `warmupMayFail` and its warm-up throws, the session is kept untimed (`untimed` under `auto`,
 * nothing remembered). Every
 * failed try is collected into one DriftlineError `backend`; onnxruntime-web's files not being the
 * build's is DriftlineError `integrity`.
 *
 * @param ctx - the backend wished, ORT's URL, store, warm-up runs
 * @param manifest - the model's manifest (sha256, preferred backend)
 * @param bytes - the model
 * @param warmup - feeds for the warm-up runs
 * @param warmupMayFail - whether a warm-up that throws says the feeds do not fit rather than the backend failed
 */
export async function openSession(ctx: SessionContext, manifest: Manifest, bytes: Uint8Array, warmup: (ort: Ort) => Record<string, Tensor>, warmupMayFail = false): Promise<BackendChoice> {
  const { backend: requested, store, ortUrl } = ctx;
  const preferred = manifest.preferredBackend;
  const memoKey = `backend:${manifest.sha256}`;
  const auto = requested === "auto";
  const remembered = auto ? await store.get<Backend>("meta", memoKey).catch(() => undefined) : undefined;
  const gpu = auto && (await adapter());
  const first = preferred ?? remembered;
  const timed = gpu && !first;
  let reason = !auto ? "option" : !gpu ? "only-wasm" : preferred ? "manifest" : first ? "remembered" : "timed";
  const order: Backend[] = !auto ? [requested] : !gpu ? ["wasm"] : first ? [first, other(first)] : ["wasm", "webgpu"];
  // an `integrity` error (onnxruntime-web's bytes not the build's) stays one
  const cannotLoad = (err: unknown) => {
    throw isDriftlineError(err) ? err : new DriftlineError("backend", `cannot load ${ortUrl}: ${(err as Error)?.message ?? err}`, err);
  };
  const ort = await loadOrt(ortUrl, order.includes("webgpu"), ctx).catch(cannotLoad);
  const failures: string[] = [];
  let best: { backend: Backend; session: InferenceSession; ms: number } | undefined;
  let untimed = false;
  for (const backend of order) {
    let session: InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
      const feeds = warmup(ort);
      const times: number[] = [];
      try {
        // one untimed run warms a session; the timed ones are only needed to compare two backends
        for (let i = 0; i <= (timed ? ctx.warmupRuns : 0); i++) times.push((await runInTurn(ort, session, feeds)).ms);
      } catch (err) {
        if (!warmupMayFail) throw err;
        // zeros that do not fit: the model runs on what the app passes, it cannot be timed
        untimed = true;
      }
      // the first run is not timed; the median of the others (0 when none), the first tried wins ties
      times.shift();
      const ms = times.sort((a, b) => a - b)[times.length >> 1] ?? 0;
      if (!best || ms < best.ms) void best?.session.release(), (best = { backend, session, ms });
      else void session.release();
      if (!timed || untimed) break;
    } catch (err) {
      void session?.release();
      // a session that failed because ORT's binary could not be loaded or is not the build's: that
      await binaryChecked(ort).catch(cannotLoad);
      failures.push(`${backend}: ${(err as Error)?.message ?? err}`);
    }
  }
  if (!best) throw new DriftlineError("backend", `no backend (${failures.join("; ")})`);
  if (failures.length) reason = "fallback";
  else if (untimed && timed) reason = "untimed";
  else if (timed) await store.put("meta", memoKey, best.backend).catch(() => {});
  return { ort, session: best.session, backend: best.backend, reason };
}
