import type { SQL } from "drizzle-orm";
import { Hono } from "hono";
import { forgetEvaluationsWhen } from "../alerts/store.ts";
import { appQuerySchema, modelParamSchema, rolloutChangeSchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { stableChangesNewestFirst } from "../db/audit.ts";
import { openDb, type Db } from "../db/client.ts";
import type { ModelRow } from "../db/models.ts";
import { getRollout, saveRollout } from "../db/rollouts.ts";
import { versionNumbers } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { announceRollout } from "../push/announce.ts";
import { randomBase64Url } from "../random.ts";
import { accessModel } from "../registry/model-access.ts";
import { manifestKey } from "../registry/publish.ts";
import { planChange, type PlannedChange } from "../rollout/change.ts";
import { planRollback } from "../rollout/rollback.ts";
import { rolloutView, type RolloutState, servedVersions } from "../rollout/state.ts";
import { jsonBody, validate } from "../validate.ts";
import { documented } from "../openapi.ts";
import { rolloutAnswerSchema, rolloutViewSchema } from "../../protocol/api.ts";
import { rolloutTag } from "../../protocol/rollout-tag.ts";

const MAX_BODY = 4 * 1024;

/** The answer to a change whose `If-Match` names another config version. */
const PRECONDITION_FAILED = { description: "`conflict`: `If-Match` names another config version than the stored one; nothing changed" };

async function currentRollout(db: Db, model: ModelRow): Promise<RolloutState> {
  const state = await getRollout(db, model.id);
  if (!state) throw new ApiError(404, "not_found", `model "${model.name}" has no rollout yet`);
  return state;
}

/**
 * Refuses (412) a change whose `If-Match` names another config version than the stored one: the
 * caller decided on a rollout that has changed since (another operator, the guardrail's
 * rollback, or the caller's own earlier try whose answer was lost). Without `If-Match` a change
 * applies to whatever is stored, as before; `*` matches any rollout.
 */
function checkIfMatch(ifMatch: string | undefined, model: ModelRow, current: RolloutState): void {
  if (ifMatch === undefined || ifMatch.trim() === "*") return;
  const tags = ifMatch.split(",").map((t) => t.trim());
  if (!tags.includes(rolloutTag(current.configVersion)))
    throw new ApiError(412, "conflict", `the rollout of "${model.name}" is at config version ${current.configVersion}, not the one If-Match names (${ifMatch}); read it again`);
}

/**
 * Refuses (409) a version the change newly names whose full manifest is not stored yet: its
 * publish is under way, and should that upload fail the publish deletes the version
 * (registry/publish.ts), which the rollout would then serve with no manifest. A publish deletes a
 * version only when its upload failed, so once the manifest is stored the version stays.
 */
async function checkStored(bucket: R2Bucket, model: string, current: RolloutState, next: RolloutState): Promise<void> {
  const named = new Set(servedVersions(current));
  for (const v of new Set(servedVersions(next)))
    if (!named.has(v) && !(await bucket.head(manifestKey(model, v))))
      throw new ApiError(409, "conflict", `version ${v} is still being published (its manifest is not stored yet); retry once its publish has answered`);
}

async function commit(env: Env, db: Db, model: ModelRow, current: RolloutState, plan: PlannedChange, keyId: string) {
  const launched = plan.next.canary && plan.next.canary.version !== current.canary?.version ? plan.next.canary.version : undefined;
  const fresh = launched === undefined ? undefined : (unchanged: SQL) => forgetEvaluationsWhen(db, model.id, launched, unchanged);
  const saved = await saveRollout(db, model.id, current, plan.next, { keyId, action: plan.action }, fresh);
  if (!saved) throw new ApiError(409, "conflict", `the rollout of "${model.name}" changed meanwhile; read it again and retry`);
  await announceRollout(env, model.id, plan.next.configVersion);
  return { action: plan.action, changed: true, rollout: rolloutView(plan.next) };
}

/**
 * `/v1/models/:model/rollout` and `/rollback` (admin; GET rollout: read). Each change
 * raises the config version and writes an audit row; a PUT that changes nothing answers
 * `changed: false` and writes nothing. GET answers the config version as its `ETag`; a change
 * sent with `If-Match` applies only to that config version (412 `conflict` otherwise), so a
 * change decided on what a caller saw never lands on another rollout, and a client may send such
 * a change again after its answer was lost.
 */
export const rollout = new Hono<AppEnv>()
  .get(
    "/rollout",
    documented("A model's rollout", { 200: { description: "the rollout; its `ETag` is the config version, quoted", schema: rolloutViewSchema } }),
    requireRole("read"),
    validate("param", modelParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const current = await currentRollout(db, model);
      return c.json(rolloutView(current), 200, { ETag: rolloutTag(current.configVersion) });
    },
  )
  .put(
    "/rollout",
    documented("Changes a model's rollout (canary, promote, abort, shadow, sample rate)", {
      200: { description: "the rollout after the change", schema: rolloutAnswerSchema },
      412: PRECONDITION_FAILED,
    }),
    requireRole("admin"),
    jsonBody(MAX_BODY),
    validate("param", modelParamSchema),
    validate("query", appQuerySchema),
    validate("json", rolloutChangeSchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const current = await currentRollout(db, model);
      checkIfMatch(c.req.header("If-Match"), model, current);
      const ctx = { versions: await versionNumbers(db, model.id), now: Date.now(), newSalt: () => randomBase64Url(12) };
      const plan = planChange(current, c.req.valid("json"), ctx);
      if (!plan) return c.json({ action: null, changed: false, rollout: rolloutView(current) });
      await checkStored(c.env.ARTIFACTS, model.id, current, plan.next);
      return c.json(await commit(c.env, db, model, current, plan, c.var.caller.keyId));
    },
  )
  .post(
    "/rollback",
    documented("Rolls a model back (aborts a canary, else the previous stable)", { 200: { description: "the rollout after the rollback", schema: rolloutAnswerSchema }, 412: PRECONDITION_FAILED }),
    requireRole("admin"),
    validate("param", modelParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, c.req.valid("param").model, c.req.valid("query").app);
      const current = await currentRollout(db, model);
      checkIfMatch(c.req.header("If-Match"), model, current);
      const plan = await planRollback(current, stableChangesNewestFirst(db, model.id), Date.now());
      return c.json(await commit(c.env, db, model, current, plan, c.var.caller.keyId));
    },
  );
