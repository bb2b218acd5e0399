import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An error the API answers with: an HTTP status, a stable string code and a message.
 * `expose: false` hides the message from the client (it is logged instead).
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly expose = true,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The error envelope every non-2xx JSON answer uses. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/**
 * The one `app.onError`: ApiErrors keep their status and code; anything else is logged and
 * answered as a 500 `internal` without internal details.
 */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (!err.expose) console.error(err);
    return c.json(errorBody(err.code, err.expose ? err.message : "internal error"), err.status);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return c.json(errorBody(status === 413 ? "payload_too_large" : "http_error", err.message || "request failed"), status);
  }
  console.error(err);
  return c.json(errorBody("internal", "internal error"), 500);
}
