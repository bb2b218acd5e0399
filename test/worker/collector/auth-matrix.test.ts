import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../protocol/hash.ts";
import { BOOTSTRAP, call, createKey, manifestFor, modelBytes, publish, rollout, unique, type CallOptions } from "../registry-helpers.ts";

type Who = "none" | "ingest" | "read" | "admin" | "otherAdmin" | "bootstrap";
const WHO: Who[] = ["none", "ingest", "read", "admin", "otherAdmin", "bootstrap"];

interface Endpoint {
  name: string;
  /** Builds the request (fresh resources where a call consumes them). */
  request: () => Promise<[method: string, path: string, options?: CallOptions]>;
  /** Expected status per caller. */
  expect: Record<Who, number>;
}

const tokens = {} as Record<Who, string | undefined>;
let app = "";
let model = "";
let sha = "";

// another app's admin: 404 where the resource is this app's model or artifact (names do not leak)
const ok = (status: number, otherAdmin = 404): Record<Who, number> => ({
  none: 401,
  ingest: 403,
  read: 403,
  admin: status,
  otherAdmin,
  bootstrap: status,
});

const ENDPOINTS: Endpoint[] = [
  // keys name their app: another app's admin is refused that app (403), which says nothing of models
  { name: "POST /v1/keys", request: async () => ["POST", "/v1/keys", { json: { app, role: "ingest" } }], expect: ok(201, 403) },
  { name: "GET /v1/keys?app=", request: async () => ["GET", `/v1/keys?app=${app}`], expect: ok(200, 403) },
  {
    name: "DELETE /v1/keys/:id",
    request: async () => ["DELETE", `/v1/keys/${(await createKey(app, "ingest")).id}`],
    expect: ok(200, 403),
  },
  {
    name: "PUT /v1/artifacts/:sha256",
    request: async () => {
      const bytes = modelBytes();
      return ["PUT", `/v1/artifacts/${await sha256Hex(bytes)}`, { body: bytes }];
    },
    // fresh bytes: any admin may upload them (the upload is recorded for its app)
    expect: ok(201, 201),
  },
  {
    name: "GET /v1/artifacts/:sha256",
    request: async () => ["GET", `/v1/artifacts/${sha}`],
    expect: { ...ok(200), ingest: 200 },
  },
  {
    name: "POST /v1/models/:model/versions",
    request: async () => {
      // bytes this app uploaded (the bootstrap key uploads for it with ?app=)
      const bytes = modelBytes();
      const sha = await sha256Hex(bytes);
      expect((await call("PUT", `/v1/artifacts/${sha}?app=${app}`, { token: BOOTSTRAP, body: bytes })).status).toBe(201);
      return ["POST", `/v1/models/${model}/versions`, { json: { manifest: manifestFor(model, sha, bytes.length) } }];
    },
    // another app's admin would create its own model of that name, but may not use this app's bytes
    expect: ok(201, 409),
  },
  // another app's admin lists its own app's models: allowed, and the model is not in it (asserted below)
  { name: "GET /v1/models", request: async () => ["GET", "/v1/models"], expect: { ...ok(200, 200), read: 200 } },
  { name: "GET /v1/models/:model", request: async () => ["GET", `/v1/models/${model}`], expect: { ...ok(200), read: 200 } },
  { name: "GET /v1/models/:model/versions", request: async () => ["GET", `/v1/models/${model}/versions`], expect: { ...ok(200), read: 200 } },
  { name: "GET /v1/models/:model/versions/:n", request: async () => ["GET", `/v1/models/${model}/versions/1`], expect: { ...ok(200), read: 200 } },
  { name: "GET /v1/models/:model/rollout", request: async () => ["GET", `/v1/models/${model}/rollout`], expect: { ...ok(200), read: 200 } },
  {
    name: "PUT /v1/models/:model/rollout",
    request: async () => ["PUT", `/v1/models/${model}/rollout`, { json: { sampleRate: Math.round(Math.random() * 99 + 1) / 100 } }],
    expect: ok(200),
  },
  {
    name: "POST /v1/models/:model/rollback",
    request: async () => {
      await rollout(model, { canary: { version: 2, percent: 5 } });
      return ["POST", `/v1/models/${model}/rollback`];
    },
    expect: ok(200),
  },
  {
    name: "GET /v1/logs",
    request: async () => ["GET", `/v1/logs?model=${model}`],
    expect: { ...ok(200), read: 200 },
  },
  {
    name: "GET /v1/assignment",
    request: async () => ["GET", `/v1/assignment?model=${model}&client=c1`],
    expect: { ...ok(200), ingest: 200 },
  },
];

beforeAll(async () => {
  app = unique("matrix");
  model = unique("matrix-model");
  tokens.none = undefined;
  tokens.bootstrap = BOOTSTRAP;
  for (const role of ["ingest", "read", "admin"] as const) tokens[role] = (await createKey(app, role)).token;
  tokens.otherAdmin = (await createKey(unique("matrix-other"), "admin")).token;
  sha = (await publish(model, tokens.admin)).sha256;
  await publish(model, tokens.admin);
});

describe.each(ENDPOINTS)("$name", (endpoint) => {
  it.each(WHO)("as %s", async (who) => {
    const [method, path, options = {}] = await endpoint.request();
    const res = await call(method, path, { ...options, token: tokens[who] });
    const text = await res.text();
    expect(res.status, text).toBe(endpoint.expect[who]);
    if (res.status >= 400) {
      const code = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "not_found" }[res.status];
      expect(JSON.parse(text)).toEqual({ error: { code, message: expect.any(String) } });
    }
  });
});

it("another app's admin does not see the model in its listing", async () => {
  const res = await call("GET", "/v1/models", { token: tokens.otherAdmin });
  const { models } = (await res.json()) as { models: { name: string }[] };
  expect(models.map((m) => m.name)).not.toContain(model);
});
