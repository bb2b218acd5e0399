import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { clientManifestSchema } from "./manifest.ts";
import { modelNameSchema, rateSchema, versionSchema } from "./common.ts";

const artifactUrl = z.string().min(1).max(2048);

/**
 * What a client should run: the live version and its manifest, an optional shadow, and how
 * to sample and report. `configVersion` changes whenever any of it does.
 */
export const assignmentSchema = z.object({
  model: modelNameSchema,
  version: versionSchema,
  /** Whether this client is on the stable version or in the canary. */
  role: z.enum(["stable", "canary"]).optional(),
  /** The live version's manifest, without the reference profile. */
  manifest: clientManifestSchema,
  /** Where to fetch the model bytes. @defaultValue `/v1/artifacts/{sha256}` */
  artifactUrl: artifactUrl.optional(),
  shadow: z.object({ version: versionSchema, manifest: clientManifestSchema, sampleRate: rateSchema, artifactUrl: artifactUrl.optional() }).optional(),
  /** Fraction of rows to sketch. */
  sampleRate: rateSchema,
  /** Fraction of rows to log raw (`POST /v1/logs`) when the app allows logging. @defaultValue 0 (off) */
  logRate: z.number().min(0).max(1).optional(),
  configVersion: z.int().min(0),
  /** Send a report at least this often. */
  reportIntervalMs: z.int().min(1000).optional(),
  /** Send a report after this many rows. */
  reportRows: z.int().min(1).max(LIMITS.reportRows).optional(),
});

/** An assignment. */
export type Assignment = z.infer<typeof assignmentSchema>;
