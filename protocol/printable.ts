// Text that clients wrote, made safe to print: what reaches a terminal (the CLI's tables, NDJSON
// exports) must not carry control characters a terminal acts on.

/** `\uXXXX` of a character, as JSON escapes one. */
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * `text` with every control character (C0, DEL and C1: `\p{Cc}`) written as `\uXXXX`. Raw, an ESC
 * or a C1 CSI (U+009B) could clear a terminal, set its title or rewrite earlier lines.
 *
 * @param text - text from clients
 * @example
 * printable("4.2\u001b[2J") // "4.2\\u001b[2J"
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, escaped);
}

/**
 * `JSON.stringify(value, null, indent)` with DEL and C1 (U+007F–U+009F) escaped too, which
 * JSON.stringify leaves raw (it escapes C0 only): the same JSON, safe to print.
 *
 * @param value - a JSON value
 * @param indent - spaces of indentation, none by default
 */
export function printableJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f]/g, escaped);
}
