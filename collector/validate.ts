import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { bodyLimit } from "hono/body-limit";
import { resolver, uniqueSymbol } from "hono-openapi";
import type { z } from "zod";
import { ApiError } from "./errors.ts";

/**
 * The first problem of a failed parse as one readable line, `path: message`.
 *
 * @param error - a zod error
 */
export function describeZodError(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const path = issue.path.map(String).join(".") || "(root)";
  return `${path}: ${issue.message}`;
}

/**
 * `@hono/zod-validator` with failures thrown as 400 `validation` in the error envelope. The
 * schema is also registered with its route for the OpenAPI document (collector/openapi.ts:
 * hono-openapi reads it from the middleware, as its own `validator` does).
 *
 * @param target - what to validate: `json`, `query`, `param`…
 * @param schema - the zod schema (strict objects for bodies, so unknown fields are rejected)
 * @example
 * keys.post("/", jsonBody(4096), validate("json", createKeySchema), (c) => c.req.valid("json"));
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw new ApiError(400, "validation", describeZodError(result.error));
  });
  return Object.assign(middleware, { [uniqueSymbol]: { target, ...resolver(schema) } });
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const TEXT_TYPE = /^text\/plain\s*(;|$)/i;

/**
 * Middleware for JSON bodies: 415 `unsupported` unless Content-Type is JSON, 413
 * `payload_too_large` over `maxBytes` (by Content-Length, or counted while reading).
 * Malformed JSON becomes 400 `validation` in the JSON validator.
 *
 * @param maxBytes - the largest body accepted
 * @param options.textPlain - also accept `text/plain` bodies (JSON text): what
 *   `navigator.sendBeacon` sends, since a JSON content type would need a CORS preflight
 */
export function jsonBody(maxBytes: number, options: { textPlain?: boolean } = {}): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `body over ${maxBytes} bytes`);
    },
  });
  return async (c, next) => {
    const type = c.req.header("Content-Type") ?? "";
    if (!JSON_TYPE.test(type) && !(options.textPlain && TEXT_TYPE.test(type))) {
      throw new ApiError(415, "unsupported", "send the body as JSON with Content-Type: application/json");
    }
    return limit(c, next);
  };
}
