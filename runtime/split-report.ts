import { MAX_REPORT_BYTES } from "../protocol/limits.ts";
import { otherSketchChars } from "../protocol/report-size.ts";
import type { Report } from "./types.ts";

/**
 * Splits a report whose sketches exceed the collector's per-report limit into parts by
 * features, each within it: the first part keeps the id, `rows` and every sketch that is not
 * a feature's; the others (`part` 1, 2, …, id `<id>-<part>`) have the same period and `rows`
 * (the bound of their sketches) and only features, and the collector counts their rows once.
 * Deterministic: a resent report splits into the same parts with the same ids.
 *
 * @param report - the report as it will be sent
 * @param max - bytes of base64 sketches per part
 * @defaultValue max `LIMITS.reportBytes`
 */
export function splitReport(report: Report, max = MAX_REPORT_BYTES): Report[] {
  const { prediction, latency, errors, confusion, residual, embedding, shadow, ...head } = report;
  const groups: Array<Record<string, string>> = [{}];
  let bytes = otherSketchChars(report);
  for (const [name, sketch] of Object.entries(report.features)) {
    if (bytes + sketch.length > max && bytes > 0) groups.push({}), (bytes = 0);
    groups[groups.length - 1]![name] = sketch;
    bytes += sketch.length;
  }
  return groups.length < 2 ? [report] : groups.map((features, i) => (i ? { ...head, id: `${report.id}-${i}`, part: i, features } : { ...report, features }));
}
