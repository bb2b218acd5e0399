import type { Report } from "../../protocol/schema/report.ts";
import type { Aggregate } from "./aggregate.ts";
import { segmentSlices } from "./segments.ts";
import { GRANULARITIES, type Granularity, windowStart } from "./windows.ts";

/** What identifies an aggregate row within one aggregator object (model and shard are the object's). */
export interface RowKey {
  granularity: Granularity;
  windowStart: number;
  version: number;
  role: Report["role"];
  segment: string;
}

/**
 * The string form of a row key, for maps.
 *
 * @param k - the key
 */
export function rowId(k: RowKey): string {
  return `${k.granularity}|${k.windowStart}|${k.version}|${k.role}|${k.segment}`;
}

/** A row key and the aggregate that goes into it. */
export interface RowDelta {
  key: RowKey;
  aggregate: Aggregate;
}

/**
 * Rolls minute-level pending aggregates (one per version, role, minute and full segment) up to
 * the rows one flush updates: minute, hour and day windows × the segment slices (all, each
 * pair, the full combination). The pending aggregates are copied, never changed, so a failed
 * flush can put them back.
 *
 * @param pending - aggregates keyed by their minute row (segment = the full combination)
 * @param empty - makes an empty aggregate
 */
export function rollUp(pending: Iterable<RowDelta>, empty: () => Aggregate): Map<string, RowDelta> {
  const out = new Map<string, RowDelta>();
  for (const { key, aggregate } of pending) {
    for (const granularity of GRANULARITIES) {
      for (const segment of segmentSlices(key.segment)) {
        const target: RowKey = { ...key, granularity, windowStart: windowStart(key.windowStart, granularity), segment };
        const id = rowId(target);
        let delta = out.get(id);
        if (!delta) out.set(id, (delta = { key: target, aggregate: empty() }));
        delta.aggregate.merge(aggregate);
      }
    }
  }
  return out;
}
