import { ErrorCounts, decodeErrorCounts, fromBase64, toBase64 } from "../../protocol/sketch/index.ts";
import type { AttributedReport } from "../aggregates/sender-tally.ts";
import { WINDOW_MS, windowStart } from "../aggregates/windows.ts";
import { MAX_FUTURE_MS, MAX_REPORT_AGE_MS } from "./sender-budget.ts";

/**
 * How long a carrier's id is remembered: 35 days, where other reports' are 7 (`DEDUPE_MS`).
 * The runtime sends a carrier again until it is answered, and one a beacon took as the page went
 * is never answered, so the next page sends it again however much later it opens: a page opened
 * a week later had its dropped rows counted twice. Carriers are rare (rows a runtime dropped) and
 * small, so their ids are kept longer than the others'.
 */
export const CARRIER_DEDUPE_MS = 35 * 86_400_000;

/**
 * A stale carrier starting further back is refused, as any report past {@link MAX_REPORT_AGE_MS}:
 * 34 days. An id is remembered from when it was taken, at most {@link MAX_FUTURE_MS} before the
 * report's start, so a carrier sent again within this age of its start is still a duplicate.
 */
export const MAX_CARRIER_AGE_MS = CARRIER_DEDUPE_MS - MAX_FUTURE_MS;

/**
 * Whether a report is a runtime's carrier of dropped rows: rows 0, no sketch but error counts,
 * not a part of a split report (docs/runtime.md "Dropped rows are reported").
 *
 * @param report - a report that passed the wire schema
 */
export function isCarrier(report: AttributedReport): report is AttributedReport & { errors: string } {
  const { features, prediction, latency, confusion, residual, embedding, shadow } = report;
  if (report.errors === undefined || report.rows !== 0 || report.part !== undefined || Object.keys(features).length > 0) return false;
  return [prediction, latency, confusion, residual, embedding, shadow].every((p) => p === undefined);
}

/**
 * A report older than {@link MAX_REPORT_AGE_MS} that is a runtime's carrier of dropped rows
 * (rows 0, no sketch but error counts: docs/runtime.md "Dropped rows are reported"), moved to
 * yesterday (the whole UTC day before `now`'s) with only its `dropped` count; any other report
 * as it is. The runtime keeps a carrier of the period of the reports it dropped by age (past a
 * day) and never drops it, so a page opened again after two days sends carriers the age bound
 * would refuse, and the rows it dropped were counted nowhere.
 *
 * Filed in yesterday's day window, the count weighs in that window's sender budget like any
 * report's (1.44 M a day by default: a minute's 1,000 would scale a day's dropped rows down; no
 * budget of a forgotten window is spent again) and writes no old window. Yesterday, not the last
 * 24 hours: a day row is read only by a range that covers its whole day, and after noon the last
 * 24 hours' midpoint is in today, which no range covers before midnight. Its other codes (the
 * dropped reports' own failed calls) are left out, as they are no errors of the day it is filed
 * in, and `dropped` is none of the error rate's. A carrier starting more than
 * {@link MAX_CARRIER_AGE_MS} back is left as it is (refused by age): its id may be forgotten, and
 * it counted already if it came before.
 *
 * @param report - a report that passed the wire schema
 * @param now - epoch ms
 */
export function redateStaleCarrier(report: AttributedReport, now: number): AttributedReport {
  if (report.start >= now - MAX_REPORT_AGE_MS || report.start < now - MAX_CARRIER_AGE_MS || !isCarrier(report)) return report;
  let dropped: number | undefined;
  try {
    dropped = decodeErrorCounts(fromBase64(report.errors)).counts.get("dropped");
  } catch {
    // a malformed sketch is refused as it would have been
    return report;
  }
  if (dropped === undefined) return report;
  const errors = new ErrorCounts();
  errors.update("dropped", dropped);
  const today = windowStart(now, "day");
  return { ...report, start: today - WINDOW_MS.day, end: today, errors: toBase64(errors.encode()) };
}
