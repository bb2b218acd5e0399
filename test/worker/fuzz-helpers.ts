// What the fuzz tests of routes an ingest key reaches share: requests straight into the app,
// rotating ingest keys, and the check every answer must pass.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { app } from "../../collector/index.ts";
import { createKey } from "./registry-helpers.ts";

/** The test config allows an ingest key 250 requests a minute: a fresh key every this many. */
const KEY_USES = 200;

/**
 * One request straight into the collector's app, in this isolate, with the real bindings. Not
 * through `exports.default` (registry-helpers' `call`): the test pool wraps every such request
 * in a new proxy layer (cloudflare/workers-sdk#15092), so each costs more than the last and
 * enough of them overflow the stack.
 */
export async function send(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Ingest keys of the default app, a new one every {@link KEY_USES} requests, so the fuzz never meets the key's rate limit. */
export function ingestKeys(): () => Promise<string> {
  let uses = 0;
  let token: Promise<string> | undefined;
  return () => {
    if (uses++ % KEY_USES === 0) token = createKey("default", "ingest").then((key) => key.token);
    return token!;
  };
}

/**
 * Asserts a JSON answer (or a 304) is below 500 and not a 429 (the fuzz rotates keys so every
 * request is examined), and an error one exactly the envelope. Returns the JSON body.
 */
export async function checkAnswer(res: Response, what: string): Promise<unknown> {
  expect(res.status, what).toBeLessThan(500);
  expect(res.status, what).not.toBe(429);
  if (res.status === 304) return undefined;
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) {
    expect(Object.keys(body), what).toEqual(["error"]);
    const error = body.error as Record<string, unknown>;
    expect(Object.keys(error).sort(), what).toEqual(["code", "message"]);
    expect(typeof error.code === "string" && typeof error.message === "string", what).toBe(true);
  }
  return body;
}
