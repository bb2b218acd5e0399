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

/** Seconds a client is told to wait (`Retry-After`) when D1 did not answer. */
const D1_RETRY_AFTER_SECONDS = 30;

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
 * their status with the matching code; a failed D1 query is logged and answered 503
 * `unavailable` with `Retry-After` (D1 is down or overloaded: the request may be retried, and
 * `GET /healthz` says whether D1 answers), or, when a table or column is missing, 500 `internal`
 * saying to apply the migrations; anything else is logged and answered as a 500 `internal`
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
  if (d1 === "unavailable") {
    const message = "the database (D1) did not answer; retry later. GET /healthz shows whether D1 and R2 answer, the collector's log the error";
    return c.json(errorBody("unavailable", message), 503, { "Retry-After": String(D1_RETRY_AFTER_SECONDS) });
  }
  if (d1 === "schema") {
    return c.json(errorBody("internal", "the D1 database lacks a table or column this collector uses: apply its migrations (npx wrangler d1 migrations apply DB --remote)"), 500);
  }
  return c.json(errorBody("internal", "internal error"), 500);
}
