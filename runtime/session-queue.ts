import type { InferenceSession } from "onnxruntime-web";
import type { Ort } from "./ort-loader.ts";
import type { Tensor } from "./types.ts";

/** The last run queued on each onnxruntime-web instance. */
const queues = new WeakMap<Ort, Promise<unknown>>();

/**
 * Runs a session once every run queued before it on the same onnxruntime-web instance has
 * finished. The instance allows one run at a time across all its sessions: its WebGPU build
 * throws "Session already started" on an overlapping run, so live calls, warm-ups of an update
 * and shadow runs take turns (transformers.js chains its runs for the same reason). A queue, not
 * a lock: a run that fails does not hold up the next.
 *
 * @param ort - the onnxruntime-web instance the session belongs to
 * @param session - the session
 * @param feeds - its inputs
 * @returns the outputs and how long the run itself took (waiting not counted), in ms
 */
export function runInTurn(ort: Ort, session: InferenceSession, feeds: Record<string, Tensor>): Promise<{ out: InferenceSession.ReturnType; ms: number }> {
  const turn = (queues.get(ort) ?? Promise.resolve()).then(async () => {
    const t = performance.now();
    const out = await session.run(feeds as InferenceSession.FeedsType);
    return { out, ms: performance.now() - t };
  });
  queues.set(ort, turn.catch(() => undefined));
  return turn;
}
