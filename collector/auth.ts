import type { MiddlewareHandler } from "hono";
import { openDb } from "./db/client.ts";
import { findActiveKeyByHash } from "./db/keys.ts";
import type { AppEnv, Caller } from "./env.ts";
import { ApiError } from "./errors.ts";
import { hashToken, timingSafeEqual, type Role } from "./tokens.ts";

/** Id the bootstrap key is recorded under in the audit log. */
export const BOOTSTRAP_KEY_ID = "bootstrap";

// Longer is not a token we issued; refusing early keeps hashing bounded.
const MAX_TOKEN_LENGTH = 512;

function bearerToken(header: string | undefined, queryKey: string | undefined): string {
  const match = header?.match(/^Bearer[ ]+(\S+)\s*$/i);
  if (match) return match[1]!;
  if (!header && queryKey) return queryKey;
  throw new ApiError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <key>");
}

/**
 * Ingest keys come with every report of every page, so each isolate remembers them briefly
 * instead of reading D1 per request. A revoked ingest key stops working at once in the isolate
 * that revoked it and within this long everywhere else; other roles are always read from D1.
 */
export const INGEST_KEY_CACHE_MS = 10_000;
const INGEST_KEY_CACHE_SIZE = 10_000;
const ingestKeys = new Map<string, { caller: Caller; until: number }>();
let bootstrapHash: { token: string; hash: Promise<string> } | undefined;

/**
 * Forgets a cached ingest key (called when a key is revoked).
 *
 * @param keyId - the revoked key's id
 */
export function forgetKey(keyId: string): void {
  for (const [hash, entry] of ingestKeys) if (entry.caller.keyId === keyId) ingestKeys.delete(hash);
}

async function authenticate(env: Env, token: string): Promise<Caller> {
  if (token.length > MAX_TOKEN_LENGTH) throw new ApiError(401, "unauthorized", "unknown or revoked key");
  const hash = await hashToken(token);
  if (env.ADMIN_TOKEN) {
    if (bootstrapHash?.token !== env.ADMIN_TOKEN) bootstrapHash = { token: env.ADMIN_TOKEN, hash: hashToken(env.ADMIN_TOKEN) };
    if (timingSafeEqual(hash, await bootstrapHash.hash)) {
      return { app: null, role: "admin", keyId: BOOTSTRAP_KEY_ID, label: BOOTSTRAP_KEY_ID, origins: null, bootstrap: true };
    }
  }
  const cached = ingestKeys.get(hash);
  if (cached && cached.until > Date.now()) return cached.caller;
  const key = await findActiveKeyByHash(openDb(env), hash);
  if (!key) throw new ApiError(401, "unauthorized", "unknown or revoked key");
  // a key's origins never change after creation, so a cached caller stays true until revoked
  const caller: Caller = { app: key.app, role: key.role, keyId: key.id, label: key.label, origins: key.origins, bootstrap: false };
  if (caller.role === "ingest") {
    if (ingestKeys.size >= INGEST_KEY_CACHE_SIZE) ingestKeys.clear();
    ingestKeys.set(hash, { caller, until: Date.now() + INGEST_KEY_CACHE_MS });
  }
  return caller;
}

/**
 * Whether a request with this `Origin` header may use the caller's key. A key without origins
 * allows every origin. A request without an Origin header is allowed: browsers send one with
 * every cross-origin request and every POST, so only non-browser clients (Node, servers, curl)
 * and same-origin GETs lack it, and those could send any Origin they like anyway.
 *
 * @param caller - the authenticated caller
 * @param origin - the request's Origin header, if any
 */
export function keyAllowsOrigin(caller: Pick<Caller, "origins">, origin: string | undefined): boolean {
  return origin === undefined || caller.origins === null || caller.origins.includes(origin);
}

/** "an admin", "an ingest", "a read". */
const withArticle = (role: Role) => `${role === "read" ? "a" : "an"} ${role}`;

/**
 * Middleware: authenticates the bearer token (401 `unauthorized` when missing, unknown or
 * revoked), requires `role` or `admin` (but on an ingest route no admin key from a page: a
 * request with an `Origin`), and, for an ingest key bound to origins, a request from one of them
 * ({@link keyAllowsOrigin}) (403 `forbidden` otherwise); sets `c.var.caller`.
 * Which app a route's resource belongs to is checked later: {@link assertApp} for apps and keys,
 * `accessModel` (registry/model-access.ts) for models.
 *
 * @param role - the least role the route needs
 * @param options.queryKey - also take the key from `?key=` when there is no Authorization
 *   header: only for `navigator.sendBeacon`, which cannot set headers, on the ingest route
 * @example
 * keys.delete("/:id", requireRole("admin"), async (c) => { assertApp(c.var.caller, key.app, `key "${id}"`); … });
 */
export function requireRole(role: Role, options: { queryKey?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await authenticate(c.env, bearerToken(c.req.header("Authorization"), options.queryKey ? c.req.query("key") : undefined));
    if (caller.role !== role && caller.role !== "admin") {
      throw new ApiError(403, "forbidden", `this route needs ${withArticle(role)} key; this is ${withArticle(caller.role)} key`);
    }
    c.set("caller", caller);
    const origin = c.req.header("Origin");
    // a key in a page is every visitor's: an admin key there would give each of them the app
    if (role === "ingest" && caller.role === "admin" && origin)
      throw new ApiError(403, "forbidden", "an admin key in a page is every visitor's: pages use an ingest key (driftline keys create --role ingest)");
    if (!keyAllowsOrigin(caller, origin)) throw new ApiError(403, "forbidden", `this ingest key may not be used from pages of ${origin}`);
    await next();
  };
}

/**
 * Throws 403 `forbidden` unless `caller` may act on resources of `app` (keys, listings, a new
 * model's app). A model of another app is not a 403 but a 404: see registry/model-access.ts.
 *
 * @param caller - the authenticated caller
 * @param app - the resource's app
 * @param what - the resource, for the message; without it the app is the request's own word
 *   (`app`, `?app=`), and the message names the key's app and what may act on the other
 */
export function assertApp(caller: Caller, app: string, what?: string): void {
  if (caller.bootstrap || caller.app === app) return;
  throw new ApiError(403, "forbidden", what ? `${what} belongs to another app` : `this key is of app "${caller.app}", not "${app}": use a key of app "${app}" or the bootstrap key`);
}
