import { Hono } from "hono";
import { appQuerySchema, modelParamSchema } from "../api-schemas.ts";
import { assertApp, requireRole } from "../auth.ts";
import { stableChangesNewestFirst, newestAudit } from "../db/audit.ts";
import { openDb } from "../db/client.ts";
import { listModels } from "../db/models.ts";
import { getRollout, listRollouts } from "../db/rollouts.ts";
import { listVersions } from "../db/versions.ts";
import { recentTraffic } from "../aggregates/store.ts";
import type { AppEnv } from "../env.ts";
import { accessModel } from "../registry/model-access.ts";
import { auditView, versionView } from "../registry/views.ts";
import { rollbackTarget } from "../rollout/rollback.ts";
import { rolloutView } from "../rollout/state.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";
import { modelDetailSchema, modelListSchema } from "../../protocol/api.ts";
import { liveVersions } from "../../protocol/live-versions.ts";

/** Audit entries `GET /v1/models/:model` shows, newest first. */
export const AUDIT_SHOWN = 100;

/**
 * `/v1/models` (read): the caller's app's models with their latest version, rollout and the last
 * hour's rows and errors of its live versions, and
 * one model with all its versions, its rollout and its audit log (newest first).
 */
export const models = new Hono<AppEnv>()
  .get("/", documented("Lists the caller's models", { 200: { description: "the models", schema: modelListSchema } }), requireRole("read"), validate("query", appQuerySchema), async (c) => {
    const caller = c.var.caller;
    const app = c.req.valid("query").app ?? caller.app ?? undefined;
    if (app !== undefined) assertApp(caller, app);
    const db = openDb(c.env);
    const [rows, rollouts] = await Promise.all([listModels(db, app), listRollouts(db, app)]);
    const live = new Map([...rollouts].map(([model, r]) => [model, liveVersions(r)]));
    const traffic = await recentTraffic(db, live, Date.now() - 3_600_000);
    const listed = rows.map((m) => {
      const rollout = rollouts.get(m.id);
      return {
        name: m.name,
        app: m.app,
        createdAt: iso(m.createdAt),
        latestVersion: m.latestVersion,
        rollout: rollout ? rolloutView(rollout) : null,
        lastHour: traffic.get(m.id) ?? { rows: 0, errors: 0 },
      };
    });
    return c.json({ models: listed });
  })
  .get(
    "/:model",
    documented("A model: rollout, versions, audit log", { 200: { description: "the model", schema: modelDetailSchema } }),
    requireRole("read"),
    validate("param", modelParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const [rollout, versions, audit] = await Promise.all([getRollout(db, model.id), listVersions(db, model.id), newestAudit(db, model.id, AUDIT_SHOWN)]);
      return c.json({
        name: model.name,
        app: model.app,
        createdAt: iso(model.createdAt),
        rollout: rollout ? rolloutView(rollout) : null,
        rollbackTo: (rollout && (await rollbackTarget(rollout, stableChangesNewestFirst(db, model.id)))) ?? null,
        versions: versions.map(versionView),
        audit: audit.map(auditView),
      });
    },
  );
