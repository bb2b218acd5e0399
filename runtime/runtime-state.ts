import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import type { Api } from "./api.ts";
import type { FeedbackStore } from "./feedback.ts";
import type { PredictionLog } from "./prediction-log.ts";
import type { LoaderContext, Model } from "./model-loader.ts";
import { Accumulator, type Staging } from "./report-builder.ts";
import type { Shadow } from "./shadow.ts";
import type { Assignment, Clock, ModelStore, RuntimeEvents, RuntimeOptions } from "./types.ts";

/** The options of one runtime with every default filled in, and its collector API and store. */
export type Settings = Required<Pick<RuntimeOptions, "segment" | "reportIntervalMs" | "reportRows" | "pollIntervalMs" | "feedbackCapacity">> &
  RuntimeOptions &
  LoaderContext & { api: Api; store: ModelStore; clock: Clock };

/**
 * Whether `v` is a number the runtime may time or size by: from `min` to 2^31 − 1 (a timer past
 * that fires at once). The options are checked with it, and so is what an assignment sets (a
 * broken or hostile collector's `reportIntervalMs: 0` would otherwise report every few ms).
 *
 * @param v - the value given
 * @param min - the least it may be
 */
export const inRange = (v: unknown, min: number): v is number => (v as number) >= min && (v as number) < 2 ** 31;

/**
 * What the parts of one runtime share: the call path (runtime/call-path.ts), the report schedule
 * (runtime/report-schedule.ts) and updates and swaps (runtime/updates.ts) read and change it.
 */
export interface RuntimeState {
  readonly o: Settings;
  readonly client: string;
  /** The version that answers calls. */
  live: Model;
  /** The shadow version, when one is assigned. */
  shadow: Shadow | undefined;
  /** The assignment applied last. */
  current: Assignment;
  closed: boolean;
  /** When the collector last answered with an assignment (epoch ms). */
  lastAnswer: number;
  /** The config version the rollout channel sent last; undefined while the channel is not open. */
  pushed?: number | undefined;
  /** Per version that ran since the last report: its sketches. */
  readonly accs: Map<Model, Accumulator>;
  /** Calls waiting to be sketched in idle time. */
  readonly staging: Staging;
  readonly feedback: FeedbackStore;
  /** Logged raw rows waiting for the collector; only when the app allows logging. */
  readonly log: PredictionLog | undefined;
  /** Runs a function once the thread is idle. */
  readonly idle: (fn: () => void) => void;
  readonly emit: <E extends keyof RuntimeEvents>(event: E, payload: RuntimeEvents[E]) => void;
}

/**
 * The accumulator of version `m`, made on first use.
 *
 * @param s - the runtime's state
 * @param m - a loaded version
 */
export function accOf(s: RuntimeState, m: Model): Accumulator {
  let acc = s.accs.get(m);
  if (!acc) s.accs.set(m, (acc = new Accumulator(m.manifest, s.o.clock.now(), s.o.shareUnseenCategories, m.derived)));
  return acc;
}

/**
 * Throws DriftlineError `closed` once the runtime is closed: its calls (and labels) would reach
 * no report.
 *
 * @param s - the runtime's state
 */
export function checkOpen(s: RuntimeState): void {
  if (s.closed) throw new DriftlineError("closed", "this runtime is closed: createRuntime() makes another");
}

/**
 * Counts an error in the report of version `m` (the live one by default) and emits it.
 *
 * @param s - the runtime's state
 * @param err - a DriftlineError (anything else becomes one, code `internal`)
 * @param m - the version it happened on
 */
export function fail(s: RuntimeState, err: unknown, m: Model = s.live): void {
  const e = isDriftlineError(err) ? err : new DriftlineError("internal", String(err), err);
  accOf(s, m).error(e.code);
  s.emit("error", e);
}
