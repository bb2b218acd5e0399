import { Hono } from "hono";
import { z } from "zod";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { appIdSchema, appQuerySchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { ALL_FEATURES, type AlertConfig, alertConfigAnswerSchema as alertConfigAnswer, alertConfigSchema } from "../../protocol/schema/alert-config.ts";
import { listAlertConfigs, putAlertConfig } from "../alerts/config.ts";
import { firingAlerts, listAlerts } from "../alerts/store.ts";
import { alertView } from "../alerts/webhook.ts";
import { maskWebhook, webhookRefusal } from "../alerts/webhook-url.ts";
import { PRIVATE_RECEIVER, allowPrivateWebhooks } from "../config.ts";
import { type Db, openDb } from "../db/client.ts";
import { servingVersion } from "../db/rollouts.ts";
import { loadReference } from "../drift/stored-reference.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { accessModel } from "../registry/model-access.ts";
import { jsonBody, validate } from "../validate.ts";
import { documented } from "../openapi.ts";
import { alertListSchema } from "../../protocol/api.ts";

const modelParam = z.object({ model: modelNameSchema });

/**
 * What is wrong with a `featureDrift` list, as a sentence: names the serving version (stable, else
 * the latest) has no feature of. A misspelt name would watch nothing and never fire.
 *
 * @param names - the watched features (`*`: all of them)
 */
async function unknownFeatures(env: Pick<Env, "ARTIFACTS">, db: Db, model: string, names: readonly string[] | undefined): Promise<string | undefined> {
  const named = names?.filter((n) => n !== ALL_FEATURES) ?? [];
  if (named.length === 0) return undefined;
  const version = await servingVersion(db, model);
  const known = (await loadReference(env, db, model, version))?.reference.features;
  const unknown = known ? named.filter((n) => !known.has(n)) : [];
  if (!known || unknown.length === 0) return undefined;
  const listed = [...known.keys()];
  return `${unknown.map((n) => `"${n}"`).join(", ")}: not a feature of version ${version} (${listed.slice(0, 12).join(", ")}${listed.length > 12 ? ", …" : ""})`;
}

const listQuery = z.object({
  model: modelNameSchema.optional(),
  app: appIdSchema.optional(),
  state: z.literal("firing").optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/**
 * `PUT /v1/models/:model/alerts` (admin): sets the model's alert thresholds, objectives and
 * webhook, which, when given, must be a public http(s) URL (400 `validation` otherwise, see
 * {@link webhookRefusal}), and whose watched features must be the serving version's (400);
 * `GET /v1/models/:model/alerts` (read) shows them, the webhook's path and query masked unless
 * the caller is an admin.
 */
export const modelAlerts = new Hono<AppEnv>()
  .put(
    "/alerts",
    documented("Sets a model's alert configuration", { 200: { description: "the configuration", schema: alertConfigAnswer } }),
    requireRole("admin"),
    jsonBody(16 * 1024),
    validate("param", modelParam),
    validate("query", appQuerySchema),
    validate("json", alertConfigSchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const config: AlertConfig = c.req.valid("json");
      const refusal = config.webhook === undefined ? undefined : webhookRefusal(config.webhook, allowPrivateWebhooks(c.env));
      if (refusal) throw new ApiError(400, "validation", `webhook: ${refusal}${webhookRefusal(config.webhook!, true) ? "" : PRIVATE_RECEIVER}`);
      const unknown = await unknownFeatures(c.env, db, model.id, config.featureDrift);
      if (unknown) throw new ApiError(400, "validation", `featureDrift: ${unknown}`);
      await putAlertConfig(db, model.id, config, Date.now());
      return c.json({ model: model.name, ...config, webhook: config.webhook ?? null });
    },
  )
  .get(
    "/alerts",
    documented("A model's alert configuration (webhook masked for read keys)", { 200: { description: "the configuration", schema: alertConfigAnswer } }),
    requireRole("read"),
    validate("param", modelParam),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const [stored] = await listAlertConfigs(db, model.id);
      if (!stored) return c.json({ model: model.name, webhook: null });
      const config = { ...stored, model: model.name };
      // webhook URLs are secrets (a Slack one posts to the channel): only admins see them whole
      const webhook = config.webhook === undefined ? null : c.var.caller.role === "admin" ? config.webhook : maskWebhook(config.webhook);
      return c.json({ ...config, webhook });
    },
  );

/**
 * `GET /v1/alerts?model=&state=&limit=` (read): alert state changes, newest first, of one model or
 * of every model of the caller's app (the bootstrap key: of the app `?app=` names, else of all);
 * with `state=firing`, only the conditions firing now, each as the change that started it.
 */
export const alerts = new Hono<AppEnv>().get(
  "/",
  documented("Recent alert state changes, or the alerts firing now", { 200: { description: "the alerts, newest first", schema: alertListSchema } }),
  requireRole("read"),
  validate("query", listQuery),
  async (c) => {
    const db = openDb(c.env);
    const { model, app, state, limit } = c.req.valid("query");
    const caller = c.var.caller;
    // the app in the query, not after it: other apps' newer alerts must not use up this one's limit
    const scope = model !== undefined ? { model: (await accessModel(db, caller, model, app)).id } : { app: caller.bootstrap ? app : caller.app! };
    const rows = state === "firing" ? await firingAlerts(db, scope, limit) : await listAlerts(db, scope, limit);
    return c.json({ alerts: rows.map(alertView) });
  },
);
