// How a segment's keys and values are written in `?segment=key:value,key:value` and in the
// canonical segments the collector files aggregates under.

/**
 * A segment key or value as `?segment=` takes it: `%`, `,` and `:` percent-encoded, so a value
 * such as `Paris, FR` stays one value.
 *
 * @param part - a key or value
 * @example
 * escapeSegmentPart("Paris, FR") // "Paris%2C FR"
 */
export function escapeSegmentPart(part: string): string {
  return part.replace(/[%,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The key or value {@link escapeSegmentPart} wrote (`%25`, `%2C`, `%3A` decoded; any other `%`
 * stays as it is).
 *
 * @param part - an escaped key or value
 */
export function unescapeSegmentPart(part: string): string {
  return part.replace(/%(25|2C|3A)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
