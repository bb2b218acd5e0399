// The time axis every chart shares: the last N windows of one size, ending with the current one.

/** A choice of range: `count` windows of `sizeMs` each. */
export interface RangePreset {
  id: string;
  label: string;
  count: number;
  sizeMs: number;
}

const MINUTE = 60_000;

/** The ranges the dashboard offers; the first is the default. */
export const PRESETS: readonly RangePreset[] = [
  { id: "1h", label: "last hour · 12 × 5 min", count: 12, sizeMs: 5 * MINUTE },
  { id: "15m", label: "last 15 min · 15 × 1 min", count: 15, sizeMs: MINUTE },
  { id: "6h", label: "last 6 hours · 12 × 30 min", count: 12, sizeMs: 30 * MINUTE },
  { id: "24h", label: "last 24 hours · 24 × 1 hour", count: 24, sizeMs: 60 * MINUTE },
];

/** Where the tab keeps the range chosen: a reload (or Back into the page) shows the same one. */
const CHOSEN = "driftline.range";

/** The range this tab chose last, else the default (the first preset). */
export function chosenPreset(): RangePreset {
  return PRESETS.find((p) => p.id === sessionStorage.getItem(CHOSEN)) ?? PRESETS[0]!;
}

/**
 * Keeps the range chosen for this tab (sessionStorage: through reloads, not into other tabs, and
 * nothing left behind by Sign out's cleared localStorage).
 *
 * @param preset - the range chosen
 */
export function keepPreset(preset: RangePreset): void {
  sessionStorage.setItem(CHOSEN, preset.id);
}

/** One window, epoch ms, [from, to). */
export interface Window {
  from: number;
  to: number;
}

/**
 * The preset's windows, oldest first, aligned to their size so they match the collector's
 * stored minute/hour rows; the last one holds `now` (and is still filling).
 *
 * @param preset - count and size
 * @param now - epoch ms
 */
export function windowsOf(preset: RangePreset, now: number): Window[] {
  const end = Math.floor(now / preset.sizeMs) * preset.sizeMs + preset.sizeMs;
  return Array.from({ length: preset.count }, (_, i) => {
    const to = end - (preset.count - 1 - i) * preset.sizeMs;
    return { from: to - preset.sizeMs, to };
  });
}

/** What the collector keeps a segment's aggregates per. */
export const HOUR = 60 * MINUTE;

/**
 * The whole hours `range` touches, oldest first: the windows of a query sliced by a segment,
 * whose aggregates the collector keeps per hour (a sliced query of a shorter window answers
 * for its whole hour).
 *
 * @param range - the range
 */
export function hoursOf(range: Window): Window[] {
  const from = Math.floor(range.from / HOUR) * HOUR;
  return Array.from({ length: Math.ceil((range.to - from) / HOUR) }, (_, i) => ({ from: from + i * HOUR, to: from + (i + 1) * HOUR }));
}

/** The whole span of some windows. */
export function span(windows: readonly Window[]): Window {
  return { from: windows[0]!.from, to: windows[windows.length - 1]!.to };
}

/** Requests in flight at once: what a browser opens per origin over HTTP/1.1. */
const CONCURRENCY = 6;

/**
 * Maps `items` through an async function, at most {@link CONCURRENCY} at a time, in order.
 *
 * @param items - inputs
 * @param fn - the async work
 */
export async function pooled<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return out;
}
