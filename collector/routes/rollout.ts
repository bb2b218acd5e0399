import { Hono } from "hono";
import { modelParamSchema, rolloutChangeSchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { listAudit } from "../db/audit.ts";
import { openDb, type Db } from "../db/client.ts";
import { getRollout, saveRollout } from "../db/rollouts.ts";
import { latestVersion } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { randomBase64Url } from "../random.ts";
import { accessModel } from "../registry/model-access.ts";
import { planChange, type PlannedChange } from "../rollout/change.ts";
import { planRollback } from "../rollout/rollback.ts";
import { rolloutView, type RolloutState } from "../rollout/state.ts";
import { jsonBody, validate } from "../validate.ts";

const MAX_BODY = 4 * 1024;

async function currentRollout(db: Db, model: string): Promise<RolloutState> {
  const state = await getRollout(db, model);
  if (!state) throw new ApiError(404, "not_found", `model "${model}" has no rollout yet`);
  return state;
}

async function commit(db: Db, model: string, current: RolloutState, plan: PlannedChange, keyId: string) {
  const saved = await saveRollout(db, model, current, plan.next, { keyId, action: plan.action });
  if (!saved) throw new ApiError(409, "conflict", `the rollout of "${model}" changed meanwhile; read it again and retry`);
  return { action: plan.action, changed: true, rollout: rolloutView(plan.next) };
}

/**
 * `/v1/models/:model/rollout` and `/rollback` (admin; GET rollout: read). Each change
 * raises the config version and writes an audit row; a PUT that changes nothing answers
 * `changed: false` and writes nothing.
 */
export const rollout = new Hono<AppEnv>()
  .get("/rollout", requireRole("read"), validate("param", modelParamSchema), async (c) => {
    const db = openDb(c.env);
    const model = await accessModel(db, c.var.caller, c.req.valid("param").model);
    return c.json(rolloutView(await currentRollout(db, model.name)));
  })
  .put("/rollout", requireRole("admin"), jsonBody(MAX_BODY), validate("param", modelParamSchema), validate("json", rolloutChangeSchema), async (c) => {
    const db = openDb(c.env);
    const model = await accessModel(db, c.var.caller, c.req.valid("param").model);
    const current = await currentRollout(db, model.name);
    const ctx = { latest: await latestVersion(db, model.name), now: Date.now(), newSalt: () => randomBase64Url(12) };
    const plan = planChange(current, c.req.valid("json"), ctx);
    if (!plan) return c.json({ action: null, changed: false, rollout: rolloutView(current) });
    return c.json(await commit(db, model.name, current, plan, c.var.caller.keyId));
  })
  .post("/rollback", requireRole("admin"), validate("param", modelParamSchema), async (c) => {
    const db = openDb(c.env);
    const model = await accessModel(db, c.var.caller, c.req.valid("param").model);
    const current = await currentRollout(db, model.name);
    const plan = planRollback(current, await listAudit(db, model.name), Date.now());
    return c.json(await commit(db, model.name, current, plan, c.var.caller.keyId));
  });
