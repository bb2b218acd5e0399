import type { CombinationCap } from "./combination-cap.ts";
import type { PendingSource } from "./pending-chunk.ts";
import { type RowKey, rowId } from "../aggregates/rows.ts";
import { ALL_SEGMENT } from "../aggregates/segments.ts";
import { GRANULARITIES, windowStart } from "../aggregates/windows.ts";
import { HOUR_ROLLS_AFTER_MS } from "../config.ts";

/** One stored row a flush updates, and the pending sources that go into it. */
export interface RollUpTarget {
  key: RowKey;
  sources: PendingSource[];
}

/**
 * Whether the hour starting at `hourStart` is rolled up into its day by `now`.
 *
 * @param hourStart - epoch ms, hour-aligned
 * @param now - epoch ms
 */
export function hourRollsBy(hourStart: number, now: number): boolean {
  return hourStart + HOUR_ROLLS_AFTER_MS <= now;
}

/**
 * The minute and hour rows one flush updates, each with the pending sources that go into it.
 * A pending source (keyed by its filing window and full segment) goes into its own window and
 * the coarser ones up to the hour: minute rows hold all traffic only (segment ""), hour rows
 * also its segment slices ({@link CombinationCap.slices}: the full combination, or its pairs and
 * `other` past the cap). Segment slices at minute grain would
 * multiply the minute rows, the bulk of storage, by the number of slices (docs/scale.md). Day
 * rows are filled from hour rows when an hour rolls up ({@link dayTargets}); only reports filed
 * by day go to day rows here. Nothing is copied: targets refer to the pending aggregates.
 *
 * @param pending - sources keyed by their filing window (segment = the full combination)
 * @param combinations - the cap on full combinations per window (past it they fold into `other`)
 */
export function planRollUp(pending: Iterable<{ key: RowKey; source: PendingSource }>, combinations: CombinationCap): RollUpTarget[] {
  const out = new Map<string, RollUpTarget>();
  for (const { key, source } of pending) {
    const granularities = key.granularity === "day" ? (["day"] as const) : GRANULARITIES.slice(GRANULARITIES.indexOf(key.granularity), -1);
    for (const granularity of granularities) {
      const start = windowStart(key.windowStart, granularity);
      const segments = granularity === "minute" ? [ALL_SEGMENT] : combinations.slices(key.segment, `${granularity}|${start}`);
      for (const segment of segments) addSources(out, { ...key, granularity, windowStart: start, segment }, [source]);
    }
  }
  return [...out.values()];
}

/**
 * The day rows that hour rows roll into, each with the hour rows' sources: the same version,
 * role and segment slice, except that a full combination takes the day window's combination
 * cap (past it, it goes to `other` and to each of its pairs' rows there).
 *
 * @param hours - hour rows (keys) and what goes into their day row
 * @param combinations - the cap on full combinations per window
 */
export function dayTargets<T>(hours: Iterable<{ key: RowKey; sources: T[] }>, combinations: CombinationCap): { key: RowKey; sources: T[] }[] {
  const out = new Map<string, { key: RowKey; sources: T[] }>();
  for (const { key, sources } of hours) {
    const start = windowStart(key.windowStart, "day");
    // a slice's own rows in the day window: slices() without the unsliced total it leads with
    const segments = key.segment === ALL_SEGMENT ? [ALL_SEGMENT] : combinations.slices(key.segment, `day|${start}`).slice(1);
    for (const segment of segments) addSources(out, { ...key, granularity: "day", windowStart: start, segment }, sources);
  }
  return [...out.values()];
}

/**
 * Targets of several lists joined: one per row, with the sources of every list that has it.
 *
 * @param lists - target lists (e.g. a flush's own rows and the day rows its hours roll into)
 */
export function joinTargets<T>(...lists: { key: RowKey; sources: T[] }[][]): { key: RowKey; sources: T[] }[] {
  const out = new Map<string, { key: RowKey; sources: T[] }>();
  for (const list of lists) for (const { key, sources } of list) addSources(out, key, sources);
  return [...out.values()];
}

function addSources<T>(out: Map<string, { key: RowKey; sources: T[] }>, key: RowKey, sources: T[]): void {
  const id = rowId(key);
  const found = out.get(id);
  if (found) found.sources.push(...sources);
  else out.set(id, { key, sources: [...sources] });
}
