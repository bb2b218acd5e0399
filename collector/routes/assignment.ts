import { Hono } from "hono";
import { type Assignment, assignmentSchema } from "../../protocol/schema/assignment.ts";
import { assignmentQuerySchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { type Db, openDb } from "../db/client.ts";
import { getRollout } from "../db/rollouts.ts";
import { findVersions } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import type { ClientManifest } from "../registry/client-manifest.ts";
import { cachedModel } from "../registry/model-access.ts";
import { assign, type VersionChoice } from "../rollout/assign.ts";
import type { RolloutState } from "../rollout/state.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

/**
 * protocol/'s Assignment with client manifests (no reference profile) and the client's role.
 */
export type AssignmentAnswer = Omit<Assignment, "manifest" | "shadow"> & {
  role: VersionChoice["role"];
  manifest: ClientManifest;
  shadow?: { version: number; manifest: ClientManifest; sampleRate: number };
};

/** Client manifests remembered at most; past it the cache starts over. */
const MANIFEST_CACHE_SIZE = 1000;
const manifestCache = new Map<string, ClientManifest>();
/** Rollouts remembered per isolate for pushed clients; past this many models the cache starts over. */
const ROLLOUT_CACHE_SIZE = 1000;
const rolloutCache = new Map<string, RolloutState>();

/**
 * A model's rollout: from the isolate's cache when the client names a pushed config version the
 * cached rollout has reached (a rollout's config version only grows), else from D1 (and cached).
 * A client that names none — a poll, a page without the channel — always reads D1.
 */
async function rolloutOf(db: Db, model: string, pushed: number | undefined): Promise<RolloutState | undefined> {
  const hit = rolloutCache.get(model);
  if (hit && pushed !== undefined && hit.configVersion >= pushed) return hit;
  const rollout = await getRollout(db, model);
  if (rollout && pushed !== undefined) {
    if (rolloutCache.size >= ROLLOUT_CACHE_SIZE) rolloutCache.clear();
    rolloutCache.set(model, rollout);
  }
  return rollout;
}

/**
 * The client manifests of versions `numbers` of a model, remembered per isolate (a published
 * version never changes), so a page's assignment reads D1 once, for the rollout.
 */
async function clientManifests(db: Db, model: string, numbers: number[]): Promise<Map<number, ClientManifest>> {
  const found = new Map<number, ClientManifest>();
  for (const n of numbers) {
    const hit = manifestCache.get(`${model}:${n}`);
    if (hit) found.set(n, hit);
  }
  const missing = numbers.filter((n) => !found.has(n));
  if (missing.length === 0) return found;
  for (const row of await findVersions(db, model, missing)) {
    const manifest = JSON.parse(row.manifest) as ClientManifest;
    if (manifestCache.size >= MANIFEST_CACHE_SIZE) manifestCache.clear();
    manifestCache.set(`${model}:${row.number}`, manifest);
    found.set(row.number, manifest);
  }
  return found;
}

/**
 * `GET /v1/assignment?model=&client=` (ingest): the version this client runs (sticky), its
 * client manifest (no reference profile), the shadow if any, the report sample rate and the
 * config version. Never cached: it changes with every rollout change.
 */
export const assignment = new Hono<AppEnv>().get(
  "/",
  documented("A client's assignment: version, manifest, shadow, sample rate", { 200: { description: "the assignment", schema: assignmentSchema } }),
  requireRole("ingest"),
  limitIngestKey,
  validate("query", assignmentQuerySchema),
  async (c) => {
    const { model: name, client, app, config } = c.req.valid("query");
    const db = openDb(c.env);
    const model = await cachedModel(db, c.var.caller, name, app);
    const rollout = await rolloutOf(db, model.id, config);
    if (!rollout) throw new ApiError(404, "not_found", `model "${name}" has no rollout yet`);
    const choice = assign(client, model.id, rollout);
    const shadow = rollout.shadow && rollout.shadow.version !== choice.version ? rollout.shadow : null;
    const manifests = await clientManifests(db, model.id, shadow ? [choice.version, shadow.version] : [choice.version]);
    c.header("Cache-Control", "no-store");
    return c.json({
      model: model.name,
      version: choice.version,
      role: choice.role,
      manifest: manifests.get(choice.version)!,
      ...(shadow && { shadow: { version: shadow.version, manifest: manifests.get(shadow.version)!, sampleRate: shadow.sampleRate } }),
      sampleRate: rollout.sampleRate,
      ...(rollout.logRate ? { logRate: rollout.logRate } : {}),
      configVersion: rollout.configVersion,
    } satisfies AssignmentAnswer);
  },
);
