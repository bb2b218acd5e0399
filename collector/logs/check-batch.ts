import { LIMITS } from "../../protocol/limits.ts";
import type { LogBatch } from "../../protocol/schema/prediction-log.ts";
import type { Db } from "../db/client.ts";
import { findVersions } from "../db/versions.ts";
import { ApiError } from "../errors.ts";
import type { ClientManifest } from "../registry/client-manifest.ts";

/** Rows may be stamped this far ahead of the collector's clock (device clocks drift). */
export const LOG_FUTURE_MS = 86_400_000;

/** Feature names per model version (versions never change), cached per isolate. */
const FEATURE_CACHE_SIZE = 1000;
const featureNames = new Map<string, Set<string>>();

async function featuresOf(db: Db, model: string, numbers: number[]): Promise<Map<number, Set<string>>> {
  const out = new Map<number, Set<string>>();
  const missing = numbers.filter((v) => {
    const hit = featureNames.get(`${model}\n${v}`);
    if (hit) out.set(v, hit);
    return !hit;
  });
  for (const row of missing.length ? await findVersions(db, model, missing) : []) {
    const names = new Set((JSON.parse(row.manifest) as ClientManifest).features.map((f) => f.name));
    if (featureNames.size >= FEATURE_CACHE_SIZE) featureNames.clear();
    featureNames.set(`${model}\n${row.number}`, names);
    out.set(row.number, names);
  }
  return out;
}

/**
 * Checks a batch against what its client may log, so every row is written only under its own
 * model and version: each row's and label's version must be one the rollout gives the client as
 * live now or within the grace period (403 `not_assigned`), its time within
 * `LIMITS.logMaxAgeMs` back and {@link LOG_FUTURE_MS} ahead (400 `validation`), and a row's
 * inputs only features of its version's manifest (400 `unknown_feature`).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param batch - the parsed batch
 * @param live - the versions the client may run as live (collector/rollout/assignable.ts)
 * @param now - epoch ms
 */
export async function checkLogBatch(db: Db, model: string, batch: LogBatch, live: ReadonlySet<number>, now: number): Promise<void> {
  const entries = [...batch.rows, ...batch.labels];
  for (const e of entries) {
    if (!live.has(e.version)) throw new ApiError(403, "not_assigned", `version ${e.version} is not assigned to this client`);
    if (e.t < now - LIMITS.logMaxAgeMs || e.t > now + LOG_FUTURE_MS) throw new ApiError(400, "validation", `row ${e.id}: time ${e.t} is not within the last ${LIMITS.logMaxAgeMs / 86_400_000} days`);
  }
  const features = await featuresOf(db, model, [...new Set(batch.rows.map((r) => r.version))]);
  for (const row of batch.rows) {
    const names = features.get(row.version);
    const unknown = Object.keys(row.inputs).find((k) => !names?.has(k));
    if (unknown !== undefined) throw new ApiError(400, "unknown_feature", `row ${row.id}: "${unknown}" is not a feature of version ${row.version}`);
  }
}
