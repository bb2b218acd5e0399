import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../../collector/index.ts";
import { sha256Hex } from "../../../../protocol/hash.ts";
import { BOOTSTRAP, call, createKey, expectError, modelBytes, publish, unique, upload } from "../../registry-helpers.ts";

describe("PUT /v1/artifacts/:sha256", () => {
  it("stores the bytes under their hash (201), and a second upload is a no-op (200)", async () => {
    const bytes = modelBytes(1000);
    const sha = await sha256Hex(bytes);
    const first = await call("PUT", `/v1/artifacts/${sha}`, { token: BOOTSTRAP, body: bytes });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ sha256: sha, size: 1000, created: true });
    const stored = await env.ARTIFACTS.get(sha);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
    const again = await call("PUT", `/v1/artifacts/${sha}`, { token: BOOTSTRAP, body: bytes });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ sha256: sha, size: 1000, created: false });
  });

  it("refuses a body whose SHA-256 differs from the path with 400 hash_mismatch, storing nothing", async () => {
    const sha = await sha256Hex(modelBytes());
    const msg = await expectError(await call("PUT", `/v1/artifacts/${sha}`, { token: BOOTSTRAP, body: modelBytes() }), 400, "hash_mismatch");
    expect(msg).toContain(sha);
    expect(await env.ARTIFACTS.head(sha)).toBeNull();
  });

  it("enforces MAX_ARTIFACT_BYTES with 413 and requires Content-Length (411)", async () => {
    const bytes = modelBytes(64);
    const sha = await sha256Hex(bytes);
    const put = (init: RequestInit) => app.fetch(new Request(`http://collector/v1/artifacts/${sha}`, { method: "PUT", ...init }), { ...env, MAX_ARTIFACT_BYTES: "32" } as unknown as Env);
    const auth = { Authorization: `Bearer ${BOOTSTRAP}` };
    await expectError(await put({ headers: { ...auth, "Content-Length": "64" }, body: bytes }), 413, "payload_too_large");
    expect(await env.ARTIFACTS.head(sha)).toBeNull();
    const streamed = new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) });
    await expectError(await put({ headers: auth, body: streamed, duplex: "half" } as RequestInit), 411, "validation");
    await expectError(await call("PUT", `/v1/artifacts/${sha}`, { token: BOOTSTRAP, body: new Uint8Array(0) }), 400, "validation");
  });

  it("rejects a path that is not a sha256", async () => {
    await expectError(await call("PUT", "/v1/artifacts/ABC", { token: BOOTSTRAP, body: modelBytes() }), 400, "validation");
  });
});

describe("GET /v1/artifacts/:sha256", () => {
  it("serves a published model's bytes to its app's ingest key, immutable, with ETag and 304", async () => {
    const appId = unique("art");
    const admin = await createKey(appId, "admin");
    const ingest = await createKey(appId, "ingest");
    const { sha256 } = await publish(unique("m"), admin.token);
    const res = await call("GET", `/v1/artifacts/${sha256}`, { token: ingest.token });
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(await sha256Hex(bytes)).toBe(sha256);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("ETag")).toBe(`"${sha256}"`);
    expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(res.headers.get("Content-Length")).toBe(String(bytes.length));
    const cached = await call("GET", `/v1/artifacts/${sha256}`, { token: ingest.token, headers: { "If-None-Match": `"${sha256}"` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("ETag")).toBe(`"${sha256}"`);
    expect(await cached.text()).toBe("");
  });

  it("serves byte ranges (206) for resumed downloads and 416 outside the object", async () => {
    const { sha256 } = await publish(unique("range"));
    const full = new Uint8Array(await (await env.ARTIFACTS.get(sha256))!.arrayBuffer());
    const part = await call("GET", `/v1/artifacts/${sha256}`, { token: BOOTSTRAP, headers: { Range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 10-19/${full.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(full.slice(10, 20));
    const tail = await call("GET", `/v1/artifacts/${sha256}`, { token: BOOTSTRAP, headers: { Range: "bytes=-5" } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(full.slice(-5));
    const bad = await call("GET", `/v1/artifacts/${sha256}`, { token: BOOTSTRAP, headers: { Range: `bytes=${full.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("Content-Range")).toBe(`bytes */${full.length}`);
  });

  it("hides artifacts the caller's app neither uploaded nor names in a version: 404, as if missing", async () => {
    const appId = unique("hide");
    const ingest = await createKey(appId, "ingest");
    const unpublished = await upload(modelBytes());
    await expectError(await call("GET", `/v1/artifacts/${unpublished}`, { token: ingest.token }), 404, "not_found");
    const { sha256 } = await publish(unique("elsewhere"));
    await expectError(await call("GET", `/v1/artifacts/${sha256}`, { token: ingest.token }), 404, "not_found");
    await expectError(await call("GET", `/v1/artifacts/${"0".repeat(64)}`, { token: BOOTSTRAP }), 404, "not_found");
  });

  it("answers browsers with CORS, preflights included, errors too", async () => {
    const sha = "a".repeat(64);
    const preflight = await call("OPTIONS", `/v1/artifacts/${sha}`, {
      headers: { Origin: "https://shop.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(preflight.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    expect(preflight.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    const denied = await call("GET", `/v1/artifacts/${sha}`, { headers: { Origin: "https://shop.example" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
