import { DriftlineError } from "../protocol/errors.ts";
import { canWebGpu, loadOrt, type Ort } from "./ort-loader.ts";
import type { Backend, ModelStore, Tensor } from "./types.ts";
import type { InferenceSession } from "onnxruntime-web";

/** A session on its backend, and why that backend. */
export interface BackendChoice {
  ort: Ort;
  session: InferenceSession;
  backend: Backend;
  /** `option`, `manifest`, `remembered`, `timed`, `only-wasm` or `fallback`. */
  reason: string;
}

/** What {@link openSession} needs. */
export interface SessionRequest {
  bytes: Uint8Array;
  sha256: string;
  requested: Backend | "auto";
  preferred: Backend | undefined;
  ortUrl: string;
  store: ModelStore;
  warmupRuns: number;
  /** Feeds for the warm-up runs. */
  warmup(ort: Ort): Record<string, Tensor>;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
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
 * this device, else times both (when a WebGPU adapter exists) and keeps the faster. Every
 * failed try is collected into one DriftlineError `backend`.
 *
 * @param req - model bytes, wishes and seams
 */
export async function openSession(req: SessionRequest): Promise<BackendChoice> {
  const memoKey = `backend:${req.sha256}`;
  const remembered = req.requested === "auto" ? await req.store.get<Backend>("meta", memoKey).catch(() => undefined) : undefined;
  let reason: string;
  let order: Backend[];
  let timed = false;
  if (req.requested !== "auto") [reason, order] = ["option", [req.requested]];
  else {
    const gpu = await adapter();
    const first = req.preferred ?? remembered;
    if (!gpu) [reason, order] = ["only-wasm", ["wasm"]];
    else if (first) [reason, order] = [req.preferred ? "manifest" : "remembered", [first, other(first)]];
    else [reason, order, timed] = ["timed", ["wasm", "webgpu"], true];
  }
  const ort = await loadOrt(req.ortUrl, order.includes("webgpu")).catch((err) => {
    throw new DriftlineError("backend", `onnxruntime-web did not load from ${req.ortUrl}`, err);
  });
  const failures: string[] = [];
  const tried: Array<{ backend: Backend; session: InferenceSession; ms: number }> = [];
  for (const backend of order) {
    try {
      const session = await ort.InferenceSession.create(req.bytes, { executionProviders: [backend] });
      const feeds = req.warmup(ort);
      const times: number[] = [];
      for (let i = 0; i <= req.warmupRuns; i++) {
        const t = performance.now();
        await session.run(feeds);
        if (i) times.push(performance.now() - t);
      }
      tried.push({ backend, session, ms: median(times.length ? times : [0]) });
      if (!timed) break;
    } catch (err) {
      failures.push(`${backend}: ${err instanceof Error ? err.message : err}`);
    }
  }
  if (!tried.length) throw new DriftlineError("backend", `no backend could run the model (${failures.join("; ")})`);
  tried.sort((a, b) => a.ms - b.ms);
  for (const t of tried.slice(1)) void t.session.release();
  const best = tried[0]!;
  if (failures.length) reason = "fallback";
  else if (timed) await req.store.put("meta", memoKey, best.backend).catch(() => {});
  return { ort, session: best.session, backend: best.backend, reason };
}
