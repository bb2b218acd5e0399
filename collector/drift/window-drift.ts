import type { Db } from "../db/client.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { readWindow } from "../aggregates/store.ts";
import type { WindowQuery } from "../aggregates/windows.ts";
import { type DriftResult, computeDrift } from "./drift-report.ts";
import { type VersionReference, loadReference } from "./stored-reference.ts";

/** Drift of a range, with the rounded range, the merged aggregate and the reference it came from. */
export interface WindowDrift extends DriftResult {
  from: number;
  to: number;
  aggregate: Aggregate;
  reference: VersionReference;
  /** Stored rows that could not be read and were left out. */
  skipped: number;
}

/**
 * Drift of one model version over [from, to) in one segment: reads the fewest stored window
 * aggregates that tile the range (days, hours, minutes), merges them over shards, and judges
 * them against the version's reference profile. Undefined when the version does not exist.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param q - model, version, role, range, segment
 * @param labels - also read the labels fed back (confusion matrix, residuals), as alerts judge them
 */
export async function windowDrift(env: Env, db: Db, q: WindowQuery, labels = false): Promise<WindowDrift | undefined> {
  const ref = await loadReference(env, db, q.model, q.version);
  return ref && judgeWindow(env, db, q, ref, labels);
}

/**
 * Drift of one range against a reference already loaded: {@link windowDrift} after it loaded
 * the reference, and each window of a series.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param q - model, version, role, range, segment
 * @param ref - the version's reference
 * @param labels - also read the labels fed back
 */
export async function judgeWindow(env: Env, db: Db, q: WindowQuery, ref: VersionReference, labels = false): Promise<WindowDrift> {
  const read = await readWindow(env, db, { ...q, versions: [q.version] }, ["features", "prediction", "embedding", "errors", "latency", ...(labels ? (["confusion", "residual"] as const) : [])]);
  const aggregate = read.byVersion.get(q.version) ?? new Aggregate();
  return { ...computeDrift(ref.reference, aggregate, ref.drift), from: read.from, to: read.to, aggregate, reference: ref, skipped: read.skipped };
}
