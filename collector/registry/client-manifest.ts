import type { Manifest } from "../../protocol/schema/manifest.ts";

/**
 * The manifest clients get: everything but the reference profile (which only the collector
 * needs, and which can be megabytes), with the version number the registry gave it.
 */
export type ClientManifest = Omit<Manifest, "profile"> & { version: number };

/** Largest client manifest (UTF-8 JSON) a version may have: it goes to every client and into one D1 row. */
export const MAX_CLIENT_MANIFEST_BYTES = 1024 * 1024;

/**
 * The client manifest of `manifest` as version `version`.
 *
 * @param manifest - the full manifest
 * @param version - the registry's version number
 */
export function toClientManifest(manifest: Manifest, version: number): ClientManifest {
  const { profile: _profile, ...rest } = manifest;
  return { ...rest, version };
}
