import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../../collector/index.ts";
import { BOOTSTRAP, call, manifestFor, modelBytes, publish, unique, upload } from "../registry-helpers.ts";

let model = "";

beforeAll(async () => {
  model = unique("bad-input");
  await publish(model);
  await publish(model);
});

/** The JSON endpoints: [name, method, path (known once the model exists)]. */
const JSON_ENDPOINTS: [string, string, () => string][] = [
  ["POST /v1/keys", "POST", () => "/v1/keys"],
  ["POST /v1/models/:model/versions", "POST", () => `/v1/models/${model}/versions`],
  ["PUT /v1/models/:model/rollout", "PUT", () => `/v1/models/${model}/rollout`],
];

async function expect4xx(res: Response, codes: string[]): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(codes).toContain(body.error.code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

const raw = (method: string, path: string, body: string, type = "application/json") => call(method, path, { token: BOOTSTRAP, body, headers: { "Content-Type": type } });

describe.each(JSON_ENDPOINTS)("%s", (_name, method, path) => {
  it.each([
    ["malformed JSON", "{"],
    ["truncated JSON", '{"app": "x", "role": '],
    ["null", "null"],
    ["an array", "[]"],
    ["a number", "42"],
    ["a string", '"hello"'],
    ["an empty body", ""],
    ["an unknown field", '{"stable": 1, "app": "x", "role": "read", "manifest": {}, "surprise": true}'],
    ["wrong types", '{"app": 7, "role": ["admin"], "manifest": "yes", "stable": "1", "canary": 5}'],
  ])("answers %s with 400 validation", async (_what, body) => {
    await expect4xx(await raw(method, path(), body), ["validation"]);
  });

  it("answers a non-JSON content type with 415", async () => {
    await expect4xx(await raw(method, path(), "app=x", "application/x-www-form-urlencoded"), ["unsupported"]);
  });

  it("answers an oversized chunked body with 413 while reading it", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 10) c.enqueue(chunk);
        else c.close();
      },
    });
    // straight into the app (no Content-Length on a stream), so nothing pipes the unread rest
    const headers = { Authorization: `Bearer ${BOOTSTRAP}`, "Content-Type": "application/json" };
    const init = { method, headers, body: stream, duplex: "half" } as RequestInit;
    await expect4xx(await app.fetch(new Request(`http://collector${path()}`, init), env), ["payload_too_large"]);
  });

  it("never answers arbitrary JSON with a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
        const res = await raw(method, path(), JSON.stringify(value));
        expect(res.status).toBeLessThan(500);
        await res.body?.cancel();
      }),
      { numRuns: 30 },
    );
  });
});

describe("paths and queries", () => {
  it.each([
    ["GET", "/v1/models/bad%20name"],
    ["GET", "/v1/models/x/versions/-1"],
    ["GET", `/v1/models/${"m".repeat(200)}`],
    ["GET", "/v1/assignment?model=a&model=b&client=c"],
    ["GET", "/v1/assignment?client=c"],
    ["GET", "/v1/artifacts/not-a-hash"],
    ["GET", "/v1/keys?app=%00"],
  ])("%s %s is a 400, not a 500", async (method, path) => {
    await expect4xx(await call(method, path, { token: BOOTSTRAP }), ["validation"]);
  });

  it("a publish with a manifest that fails protocol's schema names the field", async () => {
    const bytes = modelBytes();
    const manifest = manifestFor(model, await upload(bytes), bytes.length);
    const res = await call("POST", `/v1/models/${model}/versions`, { token: BOOTSTRAP, json: { manifest: { ...manifest, inputs: [] } } });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).toContain("manifest.inputs");
  });

  it("unknown routes and methods get the envelope", async () => {
    await expect4xx(await call("PATCH", "/v1/keys", { token: BOOTSTRAP }), ["not_found", "method_not_allowed"]);
    await expect4xx(await call("GET", "/v1/nothing-here"), ["not_found"]);
  });
});
