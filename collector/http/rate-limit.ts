import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { errorBody } from "../errors.ts";
import { requestNetwork } from "./client-ip.ts";

/**
 * Seconds a limited client is told to wait (`Retry-After`): the `period` of both
 * `[[ratelimits]]` bindings in wrangler.toml, whose windows are fixed, so a new window has
 * begun by then. Change it with the bindings' period (Cloudflare allows 10 or 60).
 */
export const RETRY_AFTER_SECONDS = 10;

/**
 * Counts one request against `key`. Fails open: when the binding itself fails (it is a
 * Cloudflare service), the request goes on and the failure is logged, so an outage of the
 * limiter never becomes an outage of ingest.
 */
async function withinLimit(limiter: RateLimit, key: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success;
  } catch (err) {
    console.error("rate limiter failed; letting the request through", err);
    return true;
  }
}

function tooMany(c: Context<AppEnv>, who: string): Response {
  const message = `too many requests from this ${who}; retry after ${RETRY_AFTER_SECONDS} s`;
  return c.json(errorBody("rate_limited", message), 429, { "Retry-After": String(RETRY_AFTER_SECONDS) });
}

/** The routes pages call with ingest keys: method and path. */
const PAGE_ROUTES: ReadonlyArray<readonly [string, RegExp]> = [
  ["GET", /^\/v1\/assignment$/],
  ["GET", /^\/v1\/artifacts\/[^/]*$/],
  ["POST", /^\/v1\/reports$/],
  ["POST", /^\/v1\/logs$/],
  ["GET", /^\/v1\/rollout-channel$/],
];

/** Whether a request is one a page makes (a HEAD is its GET). */
function isPageRoute(method: string, path: string): boolean {
  const as = method === "HEAD" ? "GET" : method;
  return PAGE_ROUTES.some(([m, pattern]) => m === as && pattern.test(path));
}

/**
 * Middleware for every route: at most `CLIENT_IP_RATE_LIMIT`'s limit of requests per client
 * network (an IPv4 address or an IPv6 /64, see client-ip.ts) per window, else 429
 * `rate_limited` with `Retry-After`. The routes pages call and the rest — what operators call:
 * the dashboard, the CLI, scrapers, health checks — are counted apart, so a busy office of pages
 * never locks its operators out, nor they it. It runs before authentication and before the body
 * is read, so a flood with junk keys or junk bodies costs one counter call per request and no
 * key lookup past the limit. A request without a client address is not counted here.
 */
export const limitClientIp: MiddlewareHandler<AppEnv> = async (c, next) => {
  const network = requestNetwork(c.req.raw.headers);
  const count = isPageRoute(c.req.method, c.req.path) ? "ip" : "operator";
  if (network !== null && !(await withinLimit(c.env.CLIENT_IP_RATE_LIMIT, `${count}:${network}`))) return tooMany(c, "address");
  await next();
};

/**
 * Middleware (after `requireRole`): at most `INGEST_KEY_RATE_LIMIT`'s limit of requests per
 * ingest key per window, else 429 `rate_limited` with `Retry-After`. Read and admin keys are
 * not counted: they are not public.
 */
export const limitIngestKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const caller = c.var.caller;
  if (caller.role === "ingest" && !(await withinLimit(c.env.INGEST_KEY_RATE_LIMIT, `key:${caller.keyId}`))) return tooMany(c, "ingest key");
  await next();
};
