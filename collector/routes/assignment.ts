import { Hono } from "hono";
import { type Assignment, assignmentSchema } from "../../protocol/schema/assignment.ts";
import { assignmentQuerySchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { getRollout } from "../db/rollouts.ts";
import { findVersions } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import type { ClientManifest } from "../registry/client-manifest.ts";
import { accessModel } from "../registry/model-access.ts";
import { assign, type VersionChoice } from "../rollout/assign.ts";
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
    const { model: name, client, app } = c.req.valid("query");
    const db = openDb(c.env);
    const model = await accessModel(db, c.var.caller, name, app);
    const rollout = await getRollout(db, model.id);
    if (!rollout) throw new ApiError(404, "not_found", `model "${name}" has no rollout yet`);
    const choice = assign(client, model.id, rollout);
    const shadow = rollout.shadow && rollout.shadow.version !== choice.version ? rollout.shadow : null;
    const rows = await findVersions(db, model.id, shadow ? [choice.version, shadow.version] : [choice.version]);
    const manifests = new Map(rows.map((r) => [r.number, JSON.parse(r.manifest) as ClientManifest]));
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
