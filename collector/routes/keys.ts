import { type KeyView, keyCreatedSchema, keyListSchema, keyViewSchema } from "../../protocol/api.ts";
import { Hono } from "hono";
import { z } from "zod";
import { appQuerySchema, createKeySchema } from "../api-schemas.ts";
import { assertApp, forgetKey, requireRole } from "../auth.ts";
import { forgetKeyOrigins } from "../cors.ts";
import { openDb } from "../db/client.ts";
import { ensureApp, findKey, insertKey, listKeys, revokeKey, type KeyRow } from "../db/keys.ts";
import { listRollouts } from "../db/rollouts.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { randomBase64Url } from "../random.ts";
import { iso } from "../time.ts";
import { newToken } from "../tokens.ts";
import { closeKeySubscriptions } from "../push/announce.ts";
import { jsonBody, validate } from "../validate.ts";
import { documented } from "../openapi.ts";

const MAX_BODY = 4 * 1024;

/** A key as the API shows it: never the token or its hash. */
function keyView(key: KeyRow): KeyView {
  return {
    id: key.id,
    app: key.app,
    role: key.role,
    prefix: key.prefix,
    label: key.label,
    origins: key.origins,
    createdAt: iso(key.createdAt),
    revokedAt: iso(key.revokedAt),
  };
}

/**
 * `/v1/keys` (admin): create a key (its token is in this answer only), list keys, revoke one.
 * An app admin manages its own app's keys; the bootstrap key any app's, creating the app. An
 * ingest key may be bound to `origins` when created; they cannot change later (create a new key
 * and revoke the old one), so the ingest keys each isolate caches stay true.
 */
export const keys = new Hono<AppEnv>()
  .use(requireRole("admin"))
  .post(
    "/",
    documented("Creates an API key; the token is shown once", { 201: { description: "the key and its token", schema: keyCreatedSchema } }),
    jsonBody(MAX_BODY),
    validate("json", createKeySchema),
    async (c) => {
      const body = c.req.valid("json");
      assertApp(c.var.caller, body.app);
      const db = openDb(c.env);
      const now = Date.now();
      await ensureApp(db, body.app, now);
      const { token, prefix, hash } = await newToken(body.role);
      const key = await insertKey(db, {
        id: `key_${randomBase64Url(9)}`,
        app: body.app,
        role: body.role,
        hash,
        prefix,
        label: body.label ?? null,
        origins: body.origins ? [...new Set(body.origins)] : null,
        createdAt: now,
      });
      if (key.role === "ingest") forgetKeyOrigins();
      return c.json({ ...keyView(key), token }, 201);
    },
  )
  .get("/", documented("Lists API keys (never their tokens)", { 200: { description: "the keys", schema: keyListSchema } }), validate("query", appQuerySchema), async (c) => {
    const caller = c.var.caller;
    const app = c.req.valid("query").app ?? caller.app ?? undefined;
    if (app !== undefined) assertApp(caller, app);
    const rows = await listKeys(openDb(c.env), app);
    return c.json({ keys: rows.map(keyView) });
  })
  .delete("/:id", documented("Revokes an API key", { 200: { description: "the revoked key", schema: keyViewSchema } }), validate("param", z.object({ id: z.string().max(64) })), async (c) => {
    const db = openDb(c.env);
    const { id } = c.req.valid("param");
    const key = await findKey(db, id);
    if (!key) throw new ApiError(404, "not_found", `no key "${id}"`);
    assertApp(c.var.caller, key.app, `key "${id}"`);
    const revoked = (await revokeKey(db, id, Date.now()))!;
    forgetKey(id);
    forgetKeyOrigins();
    // a subscription to a rollout channel outlives the request that authenticated it; only models with a rollout have a channel
    if (key.role !== "read") await closeKeySubscriptions(c.env, (await listRollouts(db, key.app)).keys(), id);
    return c.json(keyView(revoked));
  });
