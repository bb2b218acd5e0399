import { CLOSE_GRACE_MS, type Settings, flushIntervalMs } from "../config.ts";

/** Window sizes aggregates are kept at. */
export const GRANULARITIES = ["minute", "hour", "day"] as const;

/** A window size. */
export type Granularity = (typeof GRANULARITIES)[number];

/** Milliseconds per window of each size (UTC days). */
export const WINDOW_MS: Readonly<Record<Granularity, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * Start of the window of size `g` that holds `t`.
 *
 * @param t - epoch ms
 * @param g - window size
 */
export function windowStart(t: number, g: Granularity): number {
  return t - (((t % WINDOW_MS[g]) + WINDOW_MS[g]) % WINDOW_MS[g]);
}

/** Windows of one size whose starts lie in [from, to). */
export interface WindowRange {
  granularity: Granularity;
  from: number;
  to: number;
}

/** How far back each window size is kept; older parts of a range are read from coarser windows. */
export interface Retention {
  /** Minute windows starting before this (hour-aligned) are gone. */
  minutesSince: number;
  /** Hour windows starting before this (day-aligned) are gone. */
  hoursSince: number;
}

/** Keeps every window. */
const KEEP_ALL: Retention = { minutesSince: -Infinity, hoursSince: -Infinity };

/**
 * The fewest windows that exactly tile [from, to) once both are rounded out to whole minutes:
 * whole days in the middle, whole hours beside them, minutes at the ragged ends. Parts older
 * than the retention of a size are rounded out to the next coarser size instead. With
 * `coarsest` the range is rounded out to that size and tiled with it alone.
 *
 * @param from - epoch ms, inclusive
 * @param to - epoch ms, exclusive
 * @param coarsest - use only windows of this size
 * @param retention - which windows still exist
 * @returns the ranges to read, and the rounded [from, to) they cover
 * @example
 * cover(Date.UTC(2026, 0, 1, 23, 30), Date.UTC(2026, 0, 3, 1, 0)) // 30 minutes, 1 day, 1 hour
 */
export function cover(from: number, to: number, coarsest?: Granularity, retention: Retention = KEEP_ALL): { ranges: WindowRange[]; from: number; to: number } {
  if (coarsest) {
    const start = windowStart(from, coarsest);
    const end = windowStart(to + WINDOW_MS[coarsest] - 1, coarsest);
    return { ranges: end > start ? [{ granularity: coarsest, from: start, to: end }] : [], from: start, to: end };
  }
  // three parts by retention; their inner boundaries are aligned to the coarser size, so
  // rounding each part out never overlaps its neighbour
  const parts: [number, number, Granularity][] = [
    [from, Math.min(to, retention.hoursSince), "day"],
    [Math.max(from, retention.hoursSince), Math.min(to, retention.minutesSince), "hour"],
    [Math.max(from, retention.minutesSince), to, "minute"],
  ];
  const ranges: WindowRange[] = [];
  let start = Infinity;
  let end = -Infinity;
  for (const [a, b, finest] of parts) {
    if (!(a < b)) continue;
    const lo = windowStart(a, finest);
    const hi = windowStart(b + WINDOW_MS[finest] - 1, finest);
    tile(lo, hi, "day", ranges);
    start = Math.min(start, lo);
    end = Math.max(end, hi);
  }
  return Number.isFinite(start) ? { ranges, from: start, to: end } : { ranges, from: windowStart(from, "minute"), to: windowStart(from, "minute") };
}

const FINER: Readonly<Record<Granularity, Granularity | undefined>> = { day: "hour", hour: "minute", minute: undefined };

/** Tiles [from, to) with whole windows of size `g` in the middle and finer ones at the ends. */
function tile(from: number, to: number, g: Granularity, out: WindowRange[]): void {
  if (from >= to) return;
  const finer = FINER[g];
  if (!finer) {
    out.push({ granularity: g, from, to });
    return;
  }
  const first = windowStart(from + WINDOW_MS[g] - 1, g);
  const last = windowStart(to, g);
  if (first >= last) {
    tile(from, to, finer, out);
    return;
  }
  tile(from, first, finer, out);
  out.push({ granularity: g, from: first, to: last });
  tile(last, to, finer, out);
}

/**
 * End of the closed minutes at `now`: minutes before it have ended and been flushed (one
 * flush interval plus a grace period ago), so judging them sees all their reports.
 *
 * @param env - the Worker's bindings
 * @param now - epoch ms
 */
export function closedUntil(env: Settings, now: number): number {
  const t = now - flushIntervalMs(env) - CLOSE_GRACE_MS;
  return t - (((t % 60_000) + 60_000) % 60_000);
}

/** A query of one model version's stored windows, its defaults filled in (routes/window-query.ts parses and resolves it). */
export interface WindowQuery {
  /** The model's key, what the aggregates are stored under. */
  model: string;
  version: number;
  role: "live" | "shadow";
  from: number;
  to: number;
  segment: string;
  window?: Granularity | undefined;
}
