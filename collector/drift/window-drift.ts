import type { Db } from "../db/client.ts";
import { Aggregate } from "../ingest/aggregate.ts";
import { readAggregates } from "../ingest/store.ts";
import { retentionOf } from "../ingest/retention.ts";
import type { WindowQuery } from "../ingest/window-query.ts";
import { cover } from "../ingest/windows.ts";
import { type DriftResult, computeDrift } from "./drift-report.ts";
import { type VersionReference, loadReference } from "./stored-reference.ts";

/** Drift of a range, with the rounded range, the merged aggregate and the reference it came from. */
export interface WindowDrift extends DriftResult {
  from: number;
  to: number;
  aggregate: Aggregate;
  reference: VersionReference;
}

/**
 * Drift of one model version over [from, to) in one segment: reads the fewest stored window
 * aggregates that tile the range (days, hours, minutes), merges them over shards, and judges
 * them against the version's reference profile. Undefined when the version does not exist.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param q - model, version, role, range, segment
 */
export async function windowDrift(env: Env, db: Db, q: WindowQuery): Promise<WindowDrift | undefined> {
  const ref = await loadReference(env, db, q.model, q.version);
  if (!ref) return undefined;
  const range = cover(q.from, q.to, q.window, retentionOf(env, Date.now()));
  const merged = await readAggregates(db, { model: q.model, versions: [q.version], role: q.role, segment: q.segment, ranges: range.ranges }, ["features", "prediction", "errors", "latency"]);
  const aggregate = merged.get(q.version) ?? new Aggregate();
  return { ...computeDrift(ref.reference, aggregate, ref.drift), from: range.from, to: range.to, aggregate, reference: ref };
}
