import { DEVICE_SEGMENT_KEY } from "../../protocol/device-class.ts";
import { TRIM_RANK_ERROR } from "../../protocol/drift/sender-trim.ts";
import { QuantileSketch, cdf, cdfPoints, quantile } from "../../protocol/sketch/index.ts";
import type { Aggregate } from "../aggregates/aggregate.ts";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";

/** The objectives an alert configuration may set. */
export type SloKind = "latency_p95" | "latency_p99" | "error_rate" | "throughput_fleet" | "throughput_client";

/** Share of calls a latency objective lets exceed its target: its error budget. */
const SLOW_SHARE = { latency_p95: 0.05, latency_p99: 0.01 } as const;

/** One objective judged on one subject (`backend:wasm`, `device:desktop-8c-8g-nvidia`, or "" for the whole version). */
export interface SloMeasure {
  kind: SloKind;
  subject: string;
  /** The objective's target (ms, error share, predictions per second). */
  target: number;
  /** What was measured. */
  value: number;
  /** Whether the objective is breached. */
  breached: boolean;
  /**
   * A judged error rate only: whether it is breached without any one sender, whoever that is
   * ({@link errorRateFloor}), as the guardrail needs to roll a canary back.
   */
  sure?: boolean;
}

/** What objectives are judged on: a version's merged aggregate over a window and its device classes. */
export interface SloInput {
  aggregate: Aggregate;
  /** Merged aggregate per device class (the `device` segment's values). */
  devices: ReadonlyMap<string, Aggregate>;
  /** Length of the window, ms. */
  windowMs: number;
}

/** Latencies of one subject, with an upper bound of what one sender gave to them. */
interface LatencySlice {
  subject: string;
  sketch: QuantileSketch;
  heaviest: number;
}

/** Every backend's latency and every device class's (over all its backends). */
function latencySlices(input: SloInput): LatencySlice[] {
  const { aggregate: a, devices } = input;
  const slices = [...(a.latency?.backends ?? [])].map(([backend, sketch]) => ({ subject: `backend:${backend}`, sketch, heaviest: a.senders.heaviest() }));
  for (const [device, d] of devices) {
    const sketch = allBackends(d);
    if (sketch.n > 0) slices.push({ subject: `${DEVICE_SEGMENT_KEY}:${decodePart(device)}`, sketch, heaviest: d.senders.heaviest() });
  }
  return slices;
}

/**
 * The latency subjects of a window with enough calls to judge (`minRows`), whether or not they can
 * be judged without their heaviest sender.
 *
 * @param input - the window's aggregate and device classes
 * @param minRows - calls a subject needs to be judged
 */
export const latencySubjects = (input: SloInput, minRows: number): string[] => latencySlices(input).flatMap((s) => (s.sketch.n >= minRows ? [s.subject] : []));

/** Every backend's latencies of an aggregate in one sketch. */
function allBackends(a: Aggregate): QuantileSketch {
  const all = new QuantileSketch();
  for (const s of a.latency?.backends.values() ?? []) all.merge(s);
  return all;
}

/** A segment value from its canonical (percent-encoded) form. */
function decodePart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The `q` quantile of a sketch, or with `heaviest` > 0 a lower bound of the quantile of all
 * senders but the heaviest: the quantile q·(1 − t) less the sketch's rank error
 * (`TRIM_RANK_ERROR`; the minimum below it), with t the share of the values that sender may have
 * given (all of them: NaN). NaN without values. Without the rank error, q·(1 − t) lay within the
 * other senders' values by (1 − q)·(1 − t) only, less than the rank error when t is large: p99
 * with t = 0.9 was one of that sender's calls of 3e38 ms.
 *
 * @param s - the sketch
 * @param q - the quantile, in (0, 1)
 * @param heaviest - an upper bound of the values one sender gave (0: no trimming)
 */
export function trimmedQuantile(s: QuantileSketch, q: number, heaviest = 0): number {
  const share = s.n > 0 ? Math.min(1, heaviest / s.n) : 0;
  if (share >= 1) return NaN;
  return share > 0 ? quantile(s, q * (1 - share) - TRIM_RANK_ERROR) : quantile(s, q);
}

/**
 * p95 latency over every backend of an aggregate (NaN without latency data), with `trimmed`
 * without the heaviest sender (see {@link trimmedQuantile}).
 *
 * @param a - the aggregate
 * @param trimmed - leave the heaviest sender out
 */
export function latencyP95(a: Aggregate, trimmed = false): number {
  return trimmedQuantile(allBackends(a), 0.95, trimmed ? a.senders.heaviest() : 0);
}

/**
 * Calls of an aggregate that failed: its errors but the rows a client `dropped` from its full
 * queue (the collector was down), which are not errors of the model.
 *
 * @param a - the aggregate
 */
export const failedCalls = (a: Aggregate): number => a.errorTotal - (a.errors?.counts.get("dropped") ?? 0);

/**
 * Error rate of an aggregate: errors / (rows predicted + errors), 0 without traffic. Rows a
 * client `dropped` from its full queue (the collector was down) are not errors of the model. With
 * `trimmed`, the rate of all senders but the heaviest, as no one sender can move it: the errors
 * less up to the heaviest sender's mass (so one sender's errors cannot make it breach) over the
 * rows less the most rows one sender declared (so one sender's rows cannot dilute a breach away),
 * (errors − h) / (rows − r + errors − h), 0 when nothing is left.
 *
 * @param a - the aggregate
 * @param trimmed - leave the heaviest sender out
 */
export function errorRate(a: Aggregate, trimmed = false): number {
  return trimmed ? rateWithout(a, failedCalls(a), a.senders.heaviest(), a.rowSenders.heaviest()) : rateWithout(a, failedCalls(a), 0, 0);
}

/**
 * (errors − e) / (rows − r + errors − e), 0 when nothing is left: the error rate with up to
 * `sentErrors` errors and `declared` rows taken off (e and r, each at most what there is).
 *
 * @param a - the aggregate (its rows)
 * @param errors - its failed calls
 * @param sentErrors - errors to take off
 * @param declared - rows to take off
 */
function rateWithout(a: Aggregate, errors: number, sentErrors: number, declared: number): number {
  const e = errors - Math.min(errors, sentErrors);
  const total = a.rows - Math.min(a.rows, declared) + e;
  return total > 0 ? e / total : 0;
}

/**
 * A lower bound of the error rate of all senders but any one, whoever it is: the least over
 * every tallied sender s (and one tallied in neither tally) of (errors − e) / (rows − r + errors − e),
 * with e the most errors s may have sent (its mass, up to the tally's bound) and r the fewest rows
 * it may have declared. No one sender can raise it (its errors are off in its own term and every
 * other term leaves them as errors of at most that sender's mass), unlike {@link errorRate}'s
 * trimmed rate, which takes the heaviest sender's errors and the most rows one sender declared off
 * together, though they may be two senders': an honest client declaring most of the rows (a
 * sampled, busy network) then has its rows taken off and one sender's errors off in its stead.
 * One sender's declared rows can lower it; see docs/security.md "Rows that dilute a breach".
 *
 * @param a - the aggregate
 */
export function errorRateFloor(a: Aggregate): number {
  const errors = failedCalls(a);
  let least = rateWithout(a, errors, a.senders.slack, 0);
  for (const s of new Set([...a.senders.weights.keys(), ...a.rowSenders.weights.keys()])) {
    least = Math.min(least, rateWithout(a, errors, (a.senders.weights.get(s) ?? 0) + a.senders.slack, a.rowSenders.weights.get(s) ?? 0));
  }
  return least;
}

/**
 * Predictions per second one client sustains running calls back to back: rows per call × 1000
 * / mean call latency (ms), over every backend. With `trimmed`, an upper bound of that of all
 * senders but the heaviest: its calls taken off the count and its share off the slowest
 * latencies, so one sender cannot make clients look slower. NaN without latency data.
 *
 * @param a - the aggregate
 * @param trimmed - leave the heaviest sender out
 */
export function clientThroughput(a: Aggregate, trimmed = false): number {
  const all = allBackends(a);
  const heaviest = trimmed ? a.senders.heaviest() : 0;
  if (all.n - heaviest <= 0) return NaN;
  // the slowest share one sender may have made left out, and the sketch's rank error with it
  const mean = meanBelow(all, trimmed ? 1 - heaviest / all.n - TRIM_RANK_ERROR : 1);
  return mean > 0 ? ((a.rows / (all.n - heaviest)) * 1000) / mean : NaN;
}

/** Mean of the lowest `share` of a sketch's values. */
function meanBelow(s: QuantileSketch, share: number): number {
  const { values, cdf: ranks } = cdfPoints(s);
  let sum = 0;
  let prev = 0;
  for (let i = 0; i < values.length && prev < share; i++) {
    const take = Math.min(ranks[i]!, share) - prev;
    sum += values[i]! * take;
    prev += take;
  }
  return prev > 0 ? sum / prev : NaN;
}

/**
 * The objectives of `config` measured on `input`: p95 and p99 latency per backend and per device
 * class (each one judged once it has `minRows` calls), error rate, fleet and per-client
 * throughput. With `trimmed`, each value leaves the heaviest sender of its slice out, in the
 * direction that cannot breach an objective (docs/security.md), as alerts judge them; without,
 * it is what was measured, as `/v1/stats` shows it. Values that cannot be measured are left out.
 *
 * @param config - the objectives
 * @param input - the window's aggregates
 * @param trimmed - leave the heaviest sender of each slice out
 */
export function measureObjectives(config: AlertConfig, input: SloInput, trimmed: boolean): SloMeasure[] {
  const out: SloMeasure[] = [];
  const push = (kind: SloKind, subject: string, target: number, value: number, breached: boolean) => {
    if (!Number.isNaN(value)) out.push({ kind, subject, target, value, breached });
  };
  for (const [kind, q, target] of [
    ["latency_p95", 0.95, config.latencyP95Ms],
    ["latency_p99", 0.99, config.latencyP99Ms],
  ] as const) {
    if (target === undefined) continue;
    for (const s of latencySlices(input)) {
      if (s.sketch.n < config.minRows) continue;
      const value = trimmedQuantile(s.sketch, q, trimmed ? s.heaviest : 0);
      push(kind, s.subject, target, value, value > target);
    }
  }
  const a = input.aggregate;
  // without a call there is no error rate to meet or breach
  if (config.errorRate !== undefined && a.rows + a.errorTotal > 0) {
    const rate = errorRate(a, trimmed);
    push("error_rate", "", config.errorRate, rate, rate >= config.errorRate);
    if (trimmed) out.at(-1)!.sure = errorRateFloor(a) >= config.errorRate;
  }
  if (config.throughputFleet !== undefined) {
    // a client can only add rows: it may hide a breach of the fleet's throughput, never cause one
    const perSecond = a.rows / (input.windowMs / 1000);
    push("throughput_fleet", "", config.throughputFleet, perSecond, perSecond < config.throughputFleet);
  }
  if (config.throughputClient !== undefined) {
    const perSecond = clientThroughput(a, trimmed);
    push("throughput_client", "", config.throughputClient, perSecond, perSecond < config.throughputClient);
  }
  return out;
}

/**
 * The error budget left of one objective over a period: 1 − (bad share / allowed share), where a
 * p95 objective allows 5 % of calls over its target, a p99 one 1 %, and an error-rate objective
 * its rate; below 0 the budget is overspent. Throughput objectives have no budget (null), nor has
 * a subject without data in the period.
 *
 * @param m - the objective and subject
 * @param period - the aggregates of the period
 */
export function budgetLeft(m: Pick<SloMeasure, "kind" | "subject" | "target">, period: SloInput): number | null {
  if (m.kind === "error_rate") return period.aggregate.rows > 0 ? 1 - errorRate(period.aggregate) / m.target : null;
  if (m.kind !== "latency_p95" && m.kind !== "latency_p99") return null;
  const slice = latencySlices(period).find((s) => s.subject === m.subject);
  if (!slice || slice.sketch.n === 0) return null;
  return 1 - (1 - cdf(slice.sketch, m.target)) / SLOW_SHARE[m.kind];
}

/**
 * The objectives a configuration sets, with their targets.
 *
 * @param config - the alert configuration
 */
export function objectivesOf(config: AlertConfig): { kind: SloKind; target: number }[] {
  const targets: [SloKind, number | undefined][] = [
    ["latency_p95", config.latencyP95Ms],
    ["latency_p99", config.latencyP99Ms],
    ["error_rate", config.errorRate],
    ["throughput_fleet", config.throughputFleet],
    ["throughput_client", config.throughputClient],
  ];
  return targets.flatMap(([kind, target]) => (target === undefined ? [] : [{ kind, target }]));
}
