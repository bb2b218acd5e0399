import { Hono } from "hono";
import { z } from "zod";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { appIdSchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { pushEnabled, pushLimits, rolloutGraceMs } from "../config.ts";
import { openDb } from "../db/client.ts";
import { cachedRollout } from "../db/rollouts.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { requestNetwork } from "../http/client-ip.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { documented } from "../openapi.ts";
import { rolloutChannel } from "../push/announce.ts";
import { SUBSCRIPTION_HEADER, type Subscription } from "../push/rollout-channel.ts";
import { accessModel } from "../registry/model-access.ts";
import { validate } from "../validate.ts";

/** The query of a subscription: the model, and nothing else a client could say about itself. */
const channelQuerySchema = z.object({ model: modelNameSchema, app: appIdSchema.optional(), key: z.string().optional() });

/**
 * `GET /v1/rollout-channel?model=&key=` (ingest, WebSocket): subscribes to a model's rollout
 * changes. Browsers cannot set headers on a WebSocket, so the ingest key comes as `?key=` (or
 * `Authorization`); the key's origin rules and the address and key rate limits apply as for
 * reports. The socket's first message is the model's current `{"configVersion": n}`, and so is
 * each message after it, one per rollout change; the client sends nothing. 426 without
 * `Upgrade: websocket`, 404 when the channel is off (`PUSH_CHANNEL = "off"`) or the model has no
 * rollout, 429 `rate_limited` past the open subscriptions allowed per key or network
 * (collector/config.ts `pushLimits`).
 */
export const rolloutChannelRoute = new Hono<AppEnv>().get(
  "/",
  documented("Subscribes to a model's rollout changes (WebSocket; messages are {configVersion})", { 101: { description: "the WebSocket" } }),
  requireRole("ingest", { queryKey: true }),
  limitIngestKey,
  validate("query", channelQuerySchema),
  async (c) => {
    if (!pushEnabled(c.env)) throw new ApiError(404, "not_found", "the rollout channel is off on this collector: poll GET /v1/assignment");
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "validation", "this route takes a WebSocket upgrade (Upgrade: websocket)");
    const { model: name, app } = c.req.valid("query");
    const db = openDb(c.env);
    const model = await accessModel(db, c.var.caller, name, app);
    const { current } = await cachedRollout(db, model.id, rolloutGraceMs(c.env));
    if (!current) throw new ApiError(404, "not_found", `model "${name}" has no rollout yet`);
    const subscription: Subscription = { keyId: c.var.caller.keyId, network: requestNetwork(c.req.raw.headers), configVersion: current.configVersion, limits: pushLimits(c.env) };
    // a fresh request: nothing the client sent reaches the object but the upgrade itself
    return rolloutChannel(c.env, model.id).fetch("https://rollout-channel/subscribe", { headers: { Upgrade: "websocket", [SUBSCRIPTION_HEADER]: JSON.stringify(subscription) } });
  },
);
