import { canonicalSegment, unescapeSegmentPart } from "../../protocol/segment.ts";

/** The segment of every report: unsliced totals. */
export const ALL_SEGMENT = "";

/** What a segment value over the cardinality cap becomes. */
export const OTHER_VALUE = "other";

/**
 * The row of full segment combinations over the per-window combination cap
 * (collector/ingest/combination-cap.ts); `?segment=other` reads it. No canonical segment equals
 * it: those are `key:value` pairs.
 */
export const OTHER_COMBINATION = "other";

/**
 * Parses a `?segment=` value (`key:value,key:value`, written as
 * {@link canonicalSegment} writes a segment) into its canonical form; an empty value is the unsliced
 * total, `other` the combinations folded by the combination cap. Throws a message for a
 * malformed pair.
 *
 * @param text - the query value
 */
export function parseSegment(text: string): string {
  if (text === "" || text === "all") return ALL_SEGMENT;
  if (text === OTHER_COMBINATION) return OTHER_COMBINATION;
  const map: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const at = pair.indexOf(":");
    if (at <= 0) throw new Error(`segment pair "${pair}" is not key:value`);
    const key = unescapeSegmentPart(pair.slice(0, at));
    if (Object.hasOwn(map, key)) throw new Error(`segment key "${key}" given twice`);
    map[key] = unescapeSegmentPart(pair.slice(at + 1));
  }
  return canonicalSegment(map);
}

/**
 * Every slice one report's canonical segment belongs to: the unsliced total, each `key:value`
 * pair, and the full combination when it has two or more pairs. Which of them get rows of their
 * own is the combination cap's call (`CombinationCap.slices`).
 *
 * @param canonical - a canonical segment
 */
export function segmentSlices(canonical: string): string[] {
  if (canonical === ALL_SEGMENT) return [ALL_SEGMENT];
  const pairs = canonical.split(",");
  return pairs.length === 1 ? [ALL_SEGMENT, canonical] : [ALL_SEGMENT, ...pairs, canonical];
}
