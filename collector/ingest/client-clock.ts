import type { Report } from "../../protocol/schema/report.ts";

/** A client clock this close to the collector's is taken as it is (transit, small drift). */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/**
 * A batch's reports dated by the collector's clock: when the device's wall clock at sending
 * (`sentAt`, runtime/report-queue.ts) is more than {@link CLOCK_TOLERANCE_MS} off
 * `now`, each report's start and end move by the difference. A device whose clock is days behind
 * (a dead clock battery, a wrong year) had every report refused as more than 2 days old, its
 * rows counted nowhere; one hours off filed its rows in the wrong windows. A client that lies
 * about `sentAt` gains nothing it could not do by its reports' own times: the moved times are
 * checked as any (collector/ingest/model-aggregator.ts).
 *
 * @param reports - the batch's reports
 * @param sentAt - the batch's `sentAt`, if it has one
 * @param now - the collector's time, epoch ms
 */
export function onCollectorClock(reports: Report[], sentAt: number | undefined, now: number): Report[] {
  const skew = sentAt === undefined ? 0 : now - sentAt;
  if (Math.abs(skew) <= CLOCK_TOLERANCE_MS) return reports;
  return reports.map((r) => ({ ...r, start: r.start + skew, end: r.end + skew }));
}
