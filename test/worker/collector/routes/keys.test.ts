import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BOOTSTRAP, call, createKey, expectError, unique } from "../../registry-helpers.ts";

interface Key {
  id: string;
  app: string;
  role: string;
  prefix: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
  token?: string;
}

describe("/v1/keys", () => {
  it("creates a key whose token is shown once, stored only as a hash, with a role prefix", async () => {
    const app = unique("keys");
    const res = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app, role: "ingest", label: "web" } });
    expect(res.status).toBe(201);
    const key = (await res.json()) as Key;
    expect(key).toMatchObject({ app, role: "ingest", label: "web", revokedAt: null });
    expect(key.token).toMatch(/^ing_[A-Za-z0-9_-]{32}$/);
    expect(key.prefix).toBe(key.token!.slice(0, 12));
    const row = await env.DB.prepare("select hash from api_keys where id = ?").bind(key.id).first<{ hash: string }>();
    expect(row!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.hash).not.toContain(key.token);
    const apps = await env.DB.prepare("select id from apps where id = ?").bind(app).all();
    expect(apps.results).toHaveLength(1);

    const list = (await (await call("GET", `/v1/keys?app=${app}`, { token: BOOTSTRAP })).json()) as { keys: Key[] };
    expect(list.keys).toEqual([{ id: key.id, app, role: "ingest", prefix: key.prefix, label: "web", origins: null, createdAt: key.createdAt, revokedAt: null }]);
    expect(JSON.stringify(list)).not.toContain(key.token);
  });

  it("uses the prefixes ing_, read_ and adm_", async () => {
    const app = unique("prefix");
    expect((await createKey(app, "read")).token).toMatch(/^read_/);
    expect((await createKey(app, "admin")).token).toMatch(/^adm_/);
  });

  it("authenticates a new key at once and refuses it after revocation", async () => {
    const app = unique("revoke");
    const admin = await createKey(app, "admin");
    expect((await call("GET", "/v1/keys", { token: admin.token })).status).toBe(200);
    const del = await call("DELETE", `/v1/keys/${admin.id}`, { token: BOOTSTRAP });
    expect(del.status).toBe(200);
    const revoked = (await del.json()) as Key;
    expect(revoked.revokedAt).toMatch(/^\d{4}-/);
    await expectError(await call("GET", "/v1/keys", { token: admin.token }), 401, "unauthorized");
    // revoking again is harmless and keeps the first revocation time
    const again = (await (await call("DELETE", `/v1/keys/${admin.id}`, { token: BOOTSTRAP })).json()) as Key;
    expect(again.revokedAt).toBe(revoked.revokedAt);
  });

  it("refuses a revoked ingest key at once, though ingest keys are cached", async () => {
    const app = unique("revoke-ingest");
    const ingest = await createKey(app, "ingest");
    const assignment = () => call("GET", "/v1/assignment?model=none&client=c", { token: ingest.token });
    expect((await assignment()).status).toBe(404); // authenticated (and now cached); no such model
    expect((await call("DELETE", `/v1/keys/${ingest.id}`, { token: BOOTSTRAP })).status).toBe(200);
    await expectError(await assignment(), 401, "unauthorized");
  });

  it("lets an app admin manage its own app's keys only", async () => {
    const app = unique("own");
    const other = unique("other");
    const admin = await createKey(app, "admin");
    const otherKey = await createKey(other, "ingest");
    const made = await call("POST", "/v1/keys", { token: admin.token, json: { app, role: "read" } });
    expect(made.status).toBe(201);
    await expectError(await call("POST", "/v1/keys", { token: admin.token, json: { app: other, role: "read" } }), 403, "forbidden");
    await expectError(await call("DELETE", `/v1/keys/${otherKey.id}`, { token: admin.token }), 403, "forbidden");
    const listed = await expectError(await call("GET", `/v1/keys?app=${other}`, { token: admin.token }), 403, "forbidden");
    expect(listed).toBe(`this key is of app "${app}", not "${other}": use a key of app "${other}" or the bootstrap key`);
    const own = (await (await call("GET", "/v1/keys", { token: admin.token })).json()) as { keys: Key[] };
    expect(own.keys.map((k) => k.app)).toEqual([app, app]);
  });

  it("answers 404 for an unknown key id and 401 for unknown tokens", async () => {
    await expectError(await call("DELETE", "/v1/keys/key_nope", { token: BOOTSTRAP }), 404, "not_found");
    await expectError(await call("GET", "/v1/keys", { token: "adm_not-a-real-key" }), 401, "unauthorized");
    await expectError(await call("GET", "/v1/keys", { headers: { Authorization: "Basic abc" } }), 401, "unauthorized");
    await expectError(await call("GET", "/v1/keys", { token: "x".repeat(5000) }), 401, "unauthorized");
  });

  it("validates the body: role, app id, unknown fields", async () => {
    await expectError(await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "a", role: "owner" } }), 400, "validation");
    const app = await expectError(await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "bad app!", role: "read" } }), 400, "validation");
    expect(app).toBe('app: an app id is 1 to 64 letters, digits, ".", "_" or "-", the first a letter or digit');
    const model = await expectError(await call("GET", "/v1/models/my%20model", { token: BOOTSTRAP }), 400, "validation");
    expect(model).toBe('model: a model name is 1 to 64 letters, digits, ".", "_" or "-", the first a letter or digit');
    const msg = await expectError(await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "a", role: "read", admin: true } }), 400, "validation");
    expect(msg).toMatch(/admin/);
  });
});
