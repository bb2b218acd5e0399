// How a segment is written in `?segment=key:value,key:value` and in the canonical segments the
// collector files aggregates under: one form for both.

/** A key or value with `%`, `,` and `:` percent-encoded, so a value such as `Paris, FR` stays one value. */
function escapeSegmentPart(part: string): string {
  return part.replace(/[%,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical form of a segment map, which `?segment=` takes too: `key:value` pairs sorted by
 * key and joined by `,`, with `%`, `,` and `:` percent-encoded in keys and values.
 *
 * @param segment - segment keys and values
 * @example
 * canonicalSegment({ backend: "wasm", appVersion: "4.2" }) // "appVersion:4.2,backend:wasm"
 * canonicalSegment({ region: "Paris, FR" }) // "region:Paris%2C FR"
 */
export function canonicalSegment(segment: Readonly<Record<string, string>>): string {
  return Object.keys(segment)
    .sort()
    .map((k) => `${escapeSegmentPart(k)}:${escapeSegmentPart(segment[k]!)}`)
    .join(",");
}

/**
 * A key or value as {@link canonicalSegment} wrote it, decoded (`%25`, `%2C`, `%3A`; any other
 * `%` stays as it is).
 *
 * @param part - an escaped key or value
 */
export function unescapeSegmentPart(part: string): string {
  return part.replace(/%(25|2C|3A)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
