import type { RolloutView } from "../protocol/api.ts";
import { printable } from "../protocol/printable.ts";

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

/**
 * Plain-text table with left-aligned columns; cells are made {@link printable} (an ingest key is
 * public, and what clients reported reaches the terminal through them).
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
