import type { Context } from "hono";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode } from "../protocol/errors.ts";

/**
 * An error the API answers with: an HTTP status, a stable code from protocol/errors.ts and a
 * message. `expose: false` hides the message from the client (it is logged instead).
 *
 * @example
 * throw new ApiError(404, "not_found", `no model "${name}"`);
 */
export class ApiError extends Error {
  /**
   * @param status - the HTTP status
   * @param code - the stable code clients branch on
   * @param message - what went wrong, for people
   * @param expose - whether the message may be sent to the client
   * @defaultValue expose true
   */
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly expose = true,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * The error envelope every non-2xx JSON answer uses.
 *
 * @param code - the stable code
 * @param message - what went wrong
 */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

// Codes for the HTTPExceptions hono's own middleware throws (malformed JSON is a 400).
const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: "validation",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported",
};

/** Seconds a client is told to wait (`Retry-After`) when D1 or R2 did not answer. */
const STORE_RETRY_AFTER_SECONDS = 30;

/**
 * R2's codes for a failure of R2's, not of the request: internal error, service unavailable, too
 * many requests (https://developers.cloudflare.com/r2/api/error-codes/).
 */
const R2_TRANSIENT_CODES = new Set([10001, 10043, 10058]);

/**
 * Whether `err` is R2 failing for a while: the bucket binding rejects with `<operation>: <text>
 * (<R2 error code>)`, e.g. "get: We encountered an internal error. Please try again. (10001)".
 * Another R2 code (an invalid key, say) is a fault of the request the code made: not transient.
 */
function r2Unavailable(err: Error): boolean {
  const code = /^(?:head|get|put|list|delete|[a-zA-Z]*Multipart[a-zA-Z]*): .*\((\d+)\)$/s.exec(err.message)?.[1];
  return code !== undefined && R2_TRANSIENT_CODES.has(Number(code));
}

/**
 * How a D1 query failed, or undefined when `err` is not a failed D1 query: drizzle wraps each
 * query's failure in a `DrizzleQueryError` (D1's error its `cause`); `db.batch` passes D1's own
 * error on (its message starts `D1_`). "schema": a table or column is missing, i.e. the
 * migrations of this code were not applied; "sql": another error of SQLite's (`SQLITE_…`: a
 * fault of the query, not of D1); "unavailable": anything else (network, overload, reset).
 */
function d1Failure(err: Error): "schema" | "sql" | "unavailable" | undefined {
  const cause = err instanceof DrizzleQueryError && err.cause instanceof Error ? err.cause : err;
  if (!(err instanceof DrizzleQueryError) && !err.message.startsWith("D1_")) return undefined;
  if (/no such (table|column)/.test(cause.message)) return "schema";
  return /SQLITE_/.test(cause.message) ? "sql" : "unavailable";
}

/**
 * The one `app.onError`: ApiErrors keep their status and code; hono's HTTPExceptions keep
 * their status with the matching code; a failed D1 query, or an R2 operation R2 failed (its
 * internal error, unavailable, too many requests), is logged and answered 503 `unavailable` with
 * `Retry-After` (the store is down or overloaded: the request may be retried, and `GET /healthz`
 * says whether D1 and R2 answer); a D1 query for a table or column that is missing is 500
 * `internal` saying to apply the migrations; anything else is logged and answered as a 500 `internal`
 * without internal details.
 *
 * @param err - what was thrown
 * @param c - the request context
 */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (!err.expose) console.error(err);
    return c.json(errorBody(err.code, err.expose ? err.message : "internal error"), err.status);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return c.json(errorBody(HTTP_CODES[status] ?? "internal", err.message || "request failed"), status);
  }
  console.error(err);
  const d1 = d1Failure(err);
  const store = d1 === "unavailable" ? "the database (D1)" : r2Unavailable(err) ? "the object store (R2)" : undefined;
  if (store) {
    const message = `${store} did not answer; retry later. GET /healthz shows whether D1 and R2 answer, the collector's log the error`;
    return c.json(errorBody("unavailable", message), 503, { "Retry-After": String(STORE_RETRY_AFTER_SECONDS) });
  }
  if (d1 === "schema") {
    return c.json(errorBody("internal", "the D1 database lacks a table or column this collector uses: apply its migrations (npx wrangler d1 migrations apply DB --remote)"), 500);
  }
  return c.json(errorBody("internal", "internal error"), 500);
}
