import type { Report } from "./schema/report.ts";

/**
 * Characters of a report's base64 sketches that are not features' (prediction, latency, errors,
 * performance, shadow): with its features' they make what `LIMITS.reportBytes` caps. The wire
 * schema checks the sum; the runtime splits a report by features around the rest.
 *
 * @param r - a report
 */
export function otherSketchChars(r: Pick<Report, "prediction" | "latency" | "errors" | "confusion" | "residual" | "shadow">): number {
  const sketches = [r.prediction, r.latency, r.errors, r.confusion, r.residual, r.shadow?.prediction, r.shadow?.delta, r.shadow?.latency];
  return sketches.reduce((n, s) => n + (s?.length ?? 0), 0);
}
