import type { MiddlewareHandler } from "hono";
import { INGEST_KEY_CACHE_MS, keyAllowsOrigin, type Caller } from "./auth.ts";
import { openDb } from "./db/client.ts";
import { activeIngestOrigins } from "./db/keys.ts";
import type { AppEnv } from "./env.ts";
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

async function someKeyAllows(env: Env, origin: string): Promise<boolean> {
  if (!allowed || allowed.until <= Date.now()) allowed = { ...(await activeIngestOrigins(openDb(env))), until: Date.now() + INGEST_KEY_CACHE_MS };
  return allowed.any || allowed.origins.has(origin);
}

/**
 * CORS for the routes web pages call (assignment, artifacts, reports): bearer keys in the
 * Authorization header, no cookies. An answer allows the request's origin (echoed, with
 * `Vary: Origin`) when the caller's key allows it ({@link keyAllowsOrigin}); before a key is
 * known — preflights, which carry no key, and answers refused before authentication — when some
 * active ingest key allows it (every origin while some ingest key names none). A preflight from
 * an origin no key allows is a 403 `forbidden`. hono's `cors()` decides the origin before the
 * route runs; here it is decided after, when the key is known.
 */
export const browserCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("Origin");
  if (c.req.method === "OPTIONS") {
    if (origin !== undefined && !(await someKeyAllows(c.env, origin))) throw new ApiError(403, "forbidden", `no ingest key may be used from pages of ${origin}`);
    return c.body(null, 204, { ...PREFLIGHT_HEADERS, ...(origin !== undefined && { "Access-Control-Allow-Origin": origin }), Vary: "Origin" });
  }
  await next();
  c.res.headers.append("Vary", "Origin");
  if (origin === undefined) return;
  const caller = c.get("caller") as Caller | undefined;
  if (caller ? keyAllowsOrigin(caller, origin) : await someKeyAllows(c.env, origin)) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
  }
};
