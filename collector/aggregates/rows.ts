import type { Report } from "../../protocol/schema/report.ts";
import { type Granularity, WINDOW_MS, windowStart } from "./windows.ts";

/** What identifies an aggregate row within one aggregator object (model and shard are the object's). */
export interface RowKey {
  granularity: Granularity;
  windowStart: number;
  version: number;
  role: Report["role"];
  segment: string;
}

/**
 * The string form of a row key, for maps.
 *
 * @param k - the key
 */
export function rowId(k: RowKey): string {
  return `${k.granularity}|${k.windowStart}|${k.version}|${k.role}|${k.segment}`;
}

/**
 * The window a report is filed under: the minute of its `start` when it covers at most two
 * minutes (the runtime reports every 30 s); otherwise, the hour of its midpoint when it covers
 * at most two hours, else the day of its midpoint. A report merged over an offline hour so
 * lands in an hour row only, and minute windows do not spike when the device comes back.
 *
 * @param start - the report's start, epoch ms
 * @param end - the report's end, epoch ms
 */
export function filingWindow(start: number, end: number): { granularity: Granularity; windowStart: number } {
  const span = end - start;
  if (span <= 2 * WINDOW_MS.minute) return { granularity: "minute", windowStart: windowStart(start, "minute") };
  const granularity: Granularity = span <= 2 * WINDOW_MS.hour ? "hour" : "day";
  return { granularity, windowStart: windowStart(start + Math.floor(span / 2), granularity) };
}
