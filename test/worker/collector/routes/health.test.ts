import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import pkg from "../../../../package.json";
import { app } from "../../../../collector/index.ts";

describe("GET /healthz", () => {
  it("answers 200 with the version and both D1 and R2 reachable", async () => {
    const res = await exports.default.fetch("http://collector/healthz");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; version: string; d1: { ok: boolean }; r2: { ok: boolean } };
    expect(body).toMatchObject({ status: "ok", version: pkg.version, d1: { ok: true }, r2: { ok: true }, settings: [] });
  });

  it("names each [vars] value that falls back to its default, and a misspelt setting", async () => {
    const vars = { PUSH_CHANNEL: "Off", MAX_ARTIFACT_BYTES: "-5", MINUTE_RETENTION_HOURS: "48h", INGEST_SHARDS: "2000", HOUR_RETENTON_DAYS: "7" };
    const res = await app.fetch(new Request("http://collector/healthz"), { ...env, ...vars });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { settings: string[] }).settings).toEqual([
      'MAX_ARTIFACT_BYTES = "-5" is not a whole number from 1 up: the default 104857600 applies',
      'INGEST_SHARDS = "2000" is not a whole number from 1 to 1024: the default 1 applies',
      'MINUTE_RETENTION_HOURS = "48h" is not a whole number from 1 up: the default 48 applies',
      'PUSH_CHANNEL = "Off" is not "on" or "off": the default "on" applies',
      'HOUR_RETENTON_DAYS is not a setting: nothing reads it (a misspelt name? settings: README "Deploying to Cloudflare")',
    ]);
  });

  it("names no string binding that is not a misspelt setting: the answer is public, and such a binding may be a secret", async () => {
    const res = await app.fetch(new Request("http://collector/healthz"), { ...env, SENTRY_DSN: "https://k@o.example/1", STRIPE_WEBHOOK_SECRET: "whsec_x", FLUSH_MAX_KEY: "9" });
    const { settings } = (await res.json()) as { settings: string[] };
    expect(settings.join("\n")).not.toMatch(/SENTRY|STRIPE/);
    expect(settings).toEqual([
      'FLUSH_MAX_KEY is not a setting: nothing reads it (a misspelt name? settings: README "Deploying to Cloudflare")',
      "other string bindings that are no setting: 2 (nothing reads them; names not shown, as this answer is public)",
    ]);
  });

  it("answers 503 when D1 fails, without the storage's own message: the answer is public", async () => {
    const failing = { prepare: () => ({ first: () => Promise.reject(new Error("D1_ERROR: no such table: billing_accounts")) }) };
    const res = await app.fetch(new Request("http://collector/healthz"), { ...env, DB: failing });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; d1: { ok: boolean; error?: string }; r2: { ok: boolean } };
    expect(body).toMatchObject({ status: "degraded", d1: { ok: false, error: "no answer (the Worker's log says why)" }, r2: { ok: true } });
  });

  it("uses the migrated D1 schema and a writable R2 bucket", async () => {
    const tables = await env.DB.prepare("select name from sqlite_master where type = 'table' order by name").all<{ name: string }>();
    expect(tables.results.map((r) => r.name)).toEqual(expect.arrayContaining(["api_keys", "apps"]));
    await env.ARTIFACTS.put("probe", new Uint8Array([1, 2, 3]));
    const back = await env.ARTIFACTS.get("probe");
    expect(new Uint8Array(await back!.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("answers unknown routes with the error envelope", async () => {
    const res = await exports.default.fetch("http://collector/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "no route for GET /nope" } });
  });
});
