import { Hono } from "hono";
import { z } from "zod";
import { LIMITS } from "../../protocol/limits.ts";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { appQuerySchema, modelParamSchema, publishSchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { findVersion, listVersions } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { accessModel } from "../registry/model-access.ts";
import { publishVersion } from "../registry/publish.ts";
import { versionView } from "../registry/views.ts";
import { jsonBody, validate } from "../validate.ts";
import { documented } from "../openapi.ts";
import { versionViewSchema } from "../../protocol/api.ts";

/** Largest publish body: the manifest limit plus room for the envelope. */
export const MAX_PUBLISH_BYTES = LIMITS.manifestBytes + 64 * 1024;

const versionParamSchema = z.object({
  model: modelNameSchema,
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, "version must be a positive integer")
    .transform(Number),
});

/**
 * `/v1/models/:model/versions`: publish a version (admin; 201 new, 200 when the sha256 was
 * already published), list versions (read), get one with its full manifest (read).
 */
export const versions = new Hono<AppEnv>()
  .post(
    "/",
    documented("Publishes a version (manifest, profile, artifact hash)", {
      200: { description: "already published: the model has a version of this artifact and profile", schema: versionViewSchema },
      201: { description: "published", schema: versionViewSchema },
    }),
    requireRole("admin"),
    jsonBody(MAX_PUBLISH_BYTES),
    validate("param", modelParamSchema),
    validate("json", publishSchema),
    async (c) => {
      const { model } = c.req.valid("param");
      const published = await publishVersion(c.env, openDb(c.env), c.var.caller, model, c.req.valid("json"), Date.now());
      return c.json(versionView(published.version), published.created ? 201 : 200);
    },
  )
  .get(
    "/",
    documented("Lists a model's versions", { 200: { description: "the versions", schema: z.object({ versions: z.array(versionViewSchema) }) } }),
    requireRole("read"),
    validate("param", modelParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      return c.json({ versions: (await listVersions(db, model.id)).map(versionView) });
    },
  )
  .get(
    "/:version",
    documented("A version with its full manifest", { 200: { description: "the version", schema: versionViewSchema.extend({ manifest: z.record(z.string(), z.unknown()) }) } }),
    requireRole("read"),
    validate("param", versionParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const { model: name, version: number } = c.req.valid("param");
      const model = await accessModel(db, c.var.caller, name, c.req.valid("query").app);
      const version = await findVersion(db, model.id, number);
      if (!version) throw new ApiError(404, "not_found", `model "${name}" has no version ${number}`);
      const stored = await c.env.ARTIFACTS.get(version.manifestKey);
      if (!stored) throw new ApiError(503, "unavailable", `the manifest of ${name} v${number} is not readable right now`);
      return c.json({ ...versionView(version), manifest: await stored.json() });
    },
  );
