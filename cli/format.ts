import type { RolloutView } from "../protocol/api.ts";

/**
 * One line: "stable v3, canary v4 at 10%, shadow v5 on 10% of rows (config 7)".
 *
 * @param r - the rollout
 */
export function describeRollout(r: RolloutView): string {
  const parts = [`stable v${r.stable}`];
  if (r.canary) parts.push(`canary v${r.canary.version} at ${r.canary.percent}%`);
  if (r.shadow) parts.push(`shadow v${r.shadow.version} on ${+(r.shadow.sampleRate * 100).toFixed(2)}% of rows`);
  if (r.sampleRate !== 1) parts.push(`reporting ${+(r.sampleRate * 100).toFixed(2)}% of rows`);
  if (r.logRate) parts.push(`logging ${+(r.logRate * 100).toFixed(4)}% of rows for ${r.logRetentionDays ?? 30} days`);
  return `${parts.join(", ")} (config ${r.configVersion})`;
}

/** `\uXXXX` of a character: how JSON escapes one, and readable in a terminal. */
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * `text` with every control character (C0, DEL and C1: `\p{Cc}`) written as `\uXXXX`. What
 * clients reported (segment values, backend and device names) reaches the terminal of whoever
 * runs the CLI, and an ingest key is public: raw, an ESC or a C1 CSI could clear the screen, set
 * the window title or rewrite earlier lines.
 *
 * @param text - text from the collector
 * @example
 * printable("4.2\u001b[2J") // "4.2\\u001b[2J"
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, escaped);
}

/**
 * A value as indented JSON for the terminal. JSON.stringify escapes C0 controls but not DEL and
 * C1 (U+007F–U+009F); this escapes those too, so the text is the same JSON and prints safely.
 *
 * @param value - an answer of the collector
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, escaped);
}

/**
 * Plain-text table with left-aligned columns; cells are made {@link printable}.
 *
 * @param header - column titles
 * @param rows - cells
 */
export function table(header: string[], rows: string[][]): string {
  const shown = rows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), ...shown.map(line)].join("\n");
}
