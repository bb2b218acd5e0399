import type { InferenceSession } from "onnxruntime-web";
import type { Ort } from "./ort-loader.ts";
import type { Tensor } from "./types.ts";

/** Per onnxruntime-web instance: runs queued or running, and the last of them. */
interface Lane {
  runs: number;
  last: Promise<unknown>;
}
const lanes = new WeakMap<Ort, Lane>();

async function timedRun(lane: Lane, session: InferenceSession, feeds: Record<string, Tensor>): Promise<{ out: InferenceSession.ReturnType; ms: number }> {
  try {
    const t = performance.now();
    const out = await session.run(feeds as InferenceSession.FeedsType);
    return { out, ms: performance.now() - t };
  } finally {
    lane.runs--;
  }
}

/**
 * Runs a session once every run queued before it on the same onnxruntime-web instance has
 * finished. The instance allows one run at a time across all its sessions: its WebGPU build
 * throws "Session already started" on an overlapping run, so live calls, warm-ups of an update
 * and shadow runs take turns (transformers.js chains its runs for the same reason). A queue, not
 * a lock: a run that fails does not hold up the next. With nothing queued the run starts at once
 * (no promise hops: most calls).
 *
 * @param ort - the onnxruntime-web instance the session belongs to
 * @param session - the session
 * @param feeds - its inputs
 * @returns the outputs and how long the run itself took (waiting not counted), in ms
 */
export function runInTurn(ort: Ort, session: InferenceSession, feeds: Record<string, Tensor>): Promise<{ out: InferenceSession.ReturnType; ms: number }> {
  let lane = lanes.get(ort);
  if (!lane) lanes.set(ort, (lane = { runs: 0, last: Promise.resolve() }));
  const go = () => timedRun(lane, session, feeds);
  const turn = lane.runs++ ? lane.last.then(go, go) : go();
  lane.last = turn;
  return turn;
}
