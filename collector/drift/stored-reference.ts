import type { DriftConfig, Manifest } from "../../protocol/schema/manifest.ts";
import type { Db } from "../db/client.ts";
import { findVersion } from "../db/versions.ts";
import { type Reference, decodeReference } from "./reference.ts";

/** A version's decoded reference profile and drift settings. */
export interface VersionReference {
  reference: Reference;
  drift: DriftConfig;
}

/** Decoded references kept per isolate; versions are immutable, so entries never go stale. */
const cache = new Map<string, VersionReference>();
const CACHE_SIZE = 64;

/**
 * The reference profile of a model version (from the full manifest in R2) and its drift
 * settings, or undefined when the version does not exist.
 *
 * @param env - the Worker's bindings (R2 holds the full manifest)
 * @param db - drizzle handle
 * @param model - the model
 * @param version - the version
 */
export async function loadReference(env: Pick<Env, "ARTIFACTS">, db: Db, model: string, version: number): Promise<VersionReference | undefined> {
  const key = `${model}:${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const row = await findVersion(db, model, version);
  if (!row) return undefined;
  const object = await env.ARTIFACTS.get(row.manifestKey);
  if (!object) throw new Error(`manifest of ${key} missing from R2 (${row.manifestKey})`);
  const manifest = (await object.json()) as Manifest;
  const entry = { reference: decodeReference(manifest.profile), drift: manifest.drift ?? {} };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
  return entry;
}
