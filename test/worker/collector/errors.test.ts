import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../collector/index.ts";

/** A D1 binding whose every query fails as D1 does when it does not answer. */
function unreachableD1(): D1Database {
  const fail = () => Promise.reject(new Error("D1_ERROR: Network connection lost."));
  const statement = { bind: () => statement, all: fail, raw: fail, first: fail, run: fail };
  return { prepare: () => statement, batch: fail, exec: fail } as unknown as D1Database;
}

/** The real D1 binding with every query's `models` replaced: `"models_not_migrated"` is a table the migrations did not make. */
function rewrittenD1(models: string): D1Database {
  return { prepare: (sql: string) => env.DB.prepare(sql.replaceAll('"models"', models)), batch: env.DB.batch.bind(env.DB) } as unknown as D1Database;
}

describe("when D1 does not answer", () => {
  it("a route answers 503 unavailable saying what to do, not 500 internal error", async () => {
    const down = { ...env, DB: unreachableD1() };
    const headers = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
    for (const path of ["/v1/models", "/v1/keys"]) {
      const res = await app.fetch(new Request(`http://collector${path}`, { headers }), down);
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("30");
      expect(await res.json()).toEqual({
        error: { code: "unavailable", message: "the database (D1) did not answer; retry later. GET /healthz shows whether D1 and R2 answer, the collector's log the error" },
      });
    }
    // and /healthz says which
    const health = await app.fetch(new Request("http://collector/healthz"), down);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "degraded", d1: { ok: false, error: "no answer (the Worker's log says why)" }, r2: { ok: true } });
  });
});

/** An R2 binding whose every operation fails as R2 does when it is down: `<operation>: <text> (<R2 error code>)`. */
function unavailableR2(code: number): R2Bucket {
  const fail = (operation: string) => () => Promise.reject(new Error(`${operation}: We encountered an internal error. Please try again. (${code})`));
  return { head: fail("head"), get: fail("get"), put: fail("put"), list: fail("list"), delete: fail("delete") } as unknown as R2Bucket;
}

describe("when R2 does not answer", () => {
  const sha = "ab".repeat(32);
  const headers = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };

  it("a route answers 503 unavailable with Retry-After, not 500 internal error", async () => {
    for (const code of [10001, 10043, 10058]) {
      const res = await app.fetch(new Request(`http://collector/v1/artifacts/${sha}`, { headers }), { ...env, ARTIFACTS: unavailableR2(code) });
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("30");
      expect(await res.json()).toEqual({
        error: { code: "unavailable", message: "the object store (R2) did not answer; retry later. GET /healthz shows whether D1 and R2 answer, the collector's log the error" },
      });
    }
  });

  it("an error of R2's about the request itself (an invalid key) stays a 500 internal error", async () => {
    const res = await app.fetch(new Request(`http://collector/v1/artifacts/${sha}`, { headers }), { ...env, ARTIFACTS: unavailableR2(10020) });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  });
});

describe("when the D1 schema is older than the code", () => {
  it("a route answers 500 internal saying to apply the migrations", async () => {
    const res = await app.fetch(new Request("http://collector/v1/models", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), { ...env, DB: rewrittenD1('"models_not_migrated"') });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: { code: "internal", message: "the D1 database lacks a table or column this collector uses: apply its migrations (npx wrangler d1 migrations apply DB --remote)" },
    });
  });

  it("a query SQLite refuses otherwise is a plain 500 internal error: a fault of the code, not of D1", async () => {
    const res = await app.fetch(new Request("http://collector/v1/models", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), { ...env, DB: rewrittenD1('"models" "m" "n"') });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  });
});
