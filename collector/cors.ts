import type { MiddlewareHandler } from "hono";
import { INGEST_KEY_CACHE_MS, keyAllowsOrigin } from "./auth.ts";
import { openDb } from "./db/client.ts";
import { activeIngestOrigins } from "./db/keys.ts";
import type { AppEnv, Caller } from "./env.ts";
import { ApiError } from "./errors.ts";

const PREFLIGHT_HEADERS = {
  "Access-Control-Allow-Methods": "GET,HEAD,POST,OPTIONS",
  "Access-Control-Allow-Headers": "Authorization,Content-Type,If-None-Match,Range",
  "Access-Control-Max-Age": "86400",
};
// Retry-After: clients honour it when backing off from a 429 or 503.
const EXPOSE_HEADERS = "ETag,Content-Length,Content-Range,Accept-Ranges,Retry-After";

// What the active ingest keys allow, remembered as briefly as auth.ts remembers ingest keys.
let allowed: { until: number; any: boolean; origins: Set<string> } | undefined;

/** Forgets what the active ingest keys allow (called when an ingest key is created or revoked). */
export function forgetKeyOrigins(): void {
  allowed = undefined;
}

/** `Access-Control-Allow-Origin` before a key is known: what some active ingest key allows. */
async function allowedByAnyKey(env: Env, origin: string): Promise<string | undefined> {
  if (!allowed || allowed.until <= Date.now()) allowed = { ...(await activeIngestOrigins(openDb(env))), until: Date.now() + INGEST_KEY_CACHE_MS };
  return allowed.any ? "*" : allowed.origins.has(origin) ? origin : undefined;
}

/** `Access-Control-Allow-Origin` for the caller's key: `*` for a key without origins. */
function allowedByKey(caller: Caller, origin: string): string | undefined {
  return caller.origins === null ? "*" : keyAllowsOrigin(caller, origin) ? origin : undefined;
}

/**
 * CORS for the routes web pages call (assignment, artifacts, reports): bearer keys in the
 * Authorization header, no cookies. An answer allows every origin (`*`) for a key without
 * origins, and echoes the request's origin for a key bound to it ({@link keyAllowsOrigin});
 * before a key is known — preflights, which carry no key, and answers refused before
 * authentication — it allows what some active ingest key allows (every origin while some ingest
 * key names none). A preflight from an origin no key allows is a 403 `forbidden`. hono's
 * `cors()` decides the origin before the route runs; here it is decided after, when the key is
 * known. Answers vary by `Origin`.
 */
export const browserCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("Origin");
  if (c.req.method === "OPTIONS") {
    const allow = origin === undefined ? "*" : await allowedByAnyKey(c.env, origin);
    if (allow === undefined) throw new ApiError(403, "forbidden", `no ingest key may be used from pages of ${origin}`);
    return c.body(null, 204, { ...PREFLIGHT_HEADERS, "Access-Control-Allow-Origin": allow, Vary: "Origin" });
  }
  await next();
  c.res.headers.append("Vary", "Origin");
  if (origin === undefined) return;
  const caller = c.get("caller") as Caller | undefined;
  const allow = caller ? allowedByKey(caller, origin) : await allowedByAnyKey(c.env, origin);
  if (allow === undefined) return;
  c.res.headers.set("Access-Control-Allow-Origin", allow);
  c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
};
