/** The base64 sketches of a report besides its features' (the fields of protocol/schema/report.ts, named here so the schema can import this file). */
interface OtherSketches {
  prediction?: string | undefined;
  latency?: string | undefined;
  errors?: string | undefined;
  confusion?: string | undefined;
  residual?: string | undefined;
  embedding?: string | undefined;
  shadow?: { prediction?: string | undefined; delta?: string | undefined; latency?: string | undefined } | undefined;
}

/**
 * Characters of a report's base64 sketches that are not features' (prediction, latency, errors,
 * performance, embedding, shadow): with its features' they make what `LIMITS.reportBytes` caps. The wire
 * schema checks the sum; the runtime splits a report by features around the rest.
 *
 * @param r - a report
 */
export function otherSketchChars(r: OtherSketches): number {
  const sketches = [r.prediction, r.latency, r.errors, r.confusion, r.residual, r.embedding, r.shadow?.prediction, r.shadow?.delta, r.shadow?.latency];
  return sketches.reduce((n, s) => n + (s?.length ?? 0), 0);
}
