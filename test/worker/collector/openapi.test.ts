// The OpenAPI document (GET /v1/openapi.json) against the app itself: a valid OpenAPI 3.1
// document, every route the app registers in it, and real answers of every route — successes
// and errors — valid against what it says of that route and status.
import oas31 from "@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../../collector/index.ts";
import { sha256Hex } from "../../../protocol/hash.ts";
import { flush, liveModel, makeReport } from "../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, modelBytes, publish, rollout } from "../registry-helpers.ts";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
}

/** A real answer and the operation it came from. */
interface Seen {
  method: string;
  path: string;
  status: number;
  type: string;
  body: string;
}

/** hono's path (`/v1/models/:model`) as an OpenAPI path template (`/v1/models/{model}`). */
const template = (path: string) => path.replace(/:(\w+)/g, "{$1}");

/** A JSON pointer token. */
const pointer = (token: string) => token.replaceAll("~", "~0").replaceAll("/", "~1");

describe("GET /v1/openapi.json", () => {
  let doc: OpenApiDocument;
  beforeAll(async () => {
    const res = await call("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  });

  it("is a valid OpenAPI 3.1 document", () => {
    // the 3.1 schema as @seriousme/openapi-schema-validator checks it (its Validator reads the
    // schema from disk, which workerd cannot): draft 2020-12, formats, `media-range` as any string
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addFormat("media-range", true);
    const validate = ajv.compile(oas31);
    expect(doc.openapi).toBe("3.1.0");
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it("lists every route the app registers", () => {
    const routes = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${template(r.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)));
    expect([...routes].sort()).toEqual([...documented].sort());
    expect(routes.size).toBe(32);
  });

  it("describes the real answers of every route, successes and errors", async () => {
    const seen: Seen[] = [];
    const send = async (method: string, path: string, route: string, options: Parameters<typeof call>[2] = {}) => {
      const res = await call(method, path, options);
      const type = res.headers.get("Content-Type") ?? "";
      // bytes (artifacts) are not read as text; their media type is checked
      const body = /json|text/.test(type) ? await res.text() : `${(await res.arrayBuffer()).byteLength} bytes`;
      const answer = { method, path: route, status: res.status, type, body };
      seen.push(answer);
      return answer;
    };
    const { model, version, token } = await liveModel("openapi");
    const read = (await createKey("default", "read")).token;
    const bytes = modelBytes(300);
    const sha = await sha256Hex(bytes);
    const octets = { "Content-Type": "application/octet-stream" };
    const client = "openapi-client";

    await send("GET", "/healthz", "/healthz");
    await send("GET", "/v1/openapi.json", "/v1/openapi.json");
    const created = await send("POST", "/v1/keys", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "read", label: "openapi" } });
    const { id } = JSON.parse(created.body) as { id: string };
    await send("GET", "/v1/keys", "/v1/keys", { token: BOOTSTRAP });
    await send("DELETE", `/v1/keys/${id}`, "/v1/keys/{id}", { token: BOOTSTRAP });
    await send("PUT", `/v1/artifacts/${sha}`, "/v1/artifacts/{sha256}", { token: BOOTSTRAP, body: bytes, headers: octets });
    await send("PUT", `/v1/artifacts/${sha}`, "/v1/artifacts/{sha256}", { token: BOOTSTRAP, body: bytes, headers: octets });
    const { manifest, sha256: live } = (await (await call("GET", `/v1/models/${model}/versions/${version}`, { token: read })).json()) as { manifest: unknown; sha256: string };
    await send("GET", `/v1/artifacts/${live}`, "/v1/artifacts/{sha256}", { token });
    await send("GET", `/v1/artifacts/${live}`, "/v1/artifacts/{sha256}", { token, headers: { Range: "bytes=0-9" } });
    await send("GET", "/v1/models", "/v1/models", { token: read });
    await send("GET", `/v1/models/${model}`, "/v1/models/{model}", { token: read });
    await send("POST", `/v1/models/${model}/versions`, "/v1/models/{model}/versions", { token: BOOTSTRAP, json: { manifest } });
    await send("GET", `/v1/models/${model}/versions`, "/v1/models/{model}/versions", { token: read });
    await send("GET", `/v1/models/${model}/versions/${version}`, "/v1/models/{model}/versions/{version}", { token: read });
    await send("GET", `/v1/models/${model}/rollout`, "/v1/models/{model}/rollout", { token: read });
    const next = await publish(model);
    await send("PUT", `/v1/models/${model}/rollout`, "/v1/models/{model}/rollout", { token: BOOTSTRAP, json: { stable: next.version } });
    await send("POST", `/v1/models/${model}/rollback`, "/v1/models/{model}/rollback", { token: BOOTSTRAP });
    await send("GET", `/v1/assignment?model=${model}&client=${client}`, "/v1/assignment", { token });
    await send("POST", "/v1/reports", "/v1/reports", { token, json: { reports: [makeReport(model, version, { client, segment: { country: "fr" } })] } });
    await send("POST", "/v1/reports", "/v1/reports", { token, json: { reports: [{ id: "broken" }] } });
    await send("POST", `/v1/reports/flush?model=${model}`, "/v1/reports/flush", { token: BOOTSTRAP });
    await send("GET", `/v1/reports/stats?model=${model}`, "/v1/reports/stats", { token: read });
    const now = Date.now();
    await send("GET", `/v1/drift?model=${model}&from=${now - 3_600_000}&to=${now + 60_000}&detail=bins`, "/v1/drift", { token: read });
    await send("GET", `/v1/drift/series?model=${model}&from=${now - 3_600_000}&to=${now + 60_000}&step=300000`, "/v1/drift/series", { token: read });
    await send("GET", `/v1/stats?model=${model}&from=${now - 3_600_000}&to=${now + 60_000}`, "/v1/stats", { token: read });
    await send("GET", `/v1/stats/series?model=${model}&from=${now - 3_600_000}&to=${now + 60_000}&step=300000`, "/v1/stats/series", { token: read });
    await send("GET", `/v1/segments?model=${model}`, "/v1/segments", { token: read });
    await send("DELETE", `/v1/segments?model=${model}&key=country`, "/v1/segments", { token: BOOTSTRAP });
    await send("GET", `/v1/models/${model}/alerts`, "/v1/models/{model}/alerts", { token: read });
    await send("PUT", `/v1/models/${model}/alerts`, "/v1/models/{model}/alerts", { token: BOOTSTRAP, json: { webhook: "https://hooks.example.com/x", errorRate: 0.5 } });
    await send("GET", `/v1/models/${model}/alerts`, "/v1/models/{model}/alerts", { token: read });
    await send("GET", `/v1/alerts?model=${model}`, "/v1/alerts", { token: read });
    await send("GET", "/metrics", "/metrics", { token: read });
    await rollout(model, { logRate: 1 });
    const logged = { id: "openapi-batch", model, client, rows: [{ id: "p1.0", version, t: Date.now(), segment: {}, inputs: { tenure: 3 }, score: 0.5 }], labels: [] };
    await send("POST", "/v1/logs", "/v1/logs", { token, json: logged });
    await send("GET", `/v1/logs?model=${model}`, "/v1/logs", { token: read });
    // a WebSocket upgrade answers 101 with no body
    const channel = await call("GET", `/v1/rollout-channel?model=${model}&key=${token}`, { headers: { Upgrade: "websocket" } });
    seen.push({ method: "GET", path: "/v1/rollout-channel", status: channel.status, type: "", body: "" });
    channel.webSocket?.accept();
    channel.webSocket?.close(1000);
    // errors: without a key, and with bad input
    for (const [method, path] of Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), p] as const))) {
      if (path === "/healthz" || path === "/v1/openapi.json") continue;
      const concrete = path.replace("{model}", model).replace("{sha256}", sha).replace("{version}", String(version)).replace("{id}", "nope");
      await send(method, concrete, path);
    }
    await send("GET", "/v1/drift?model=Not%20a%20name", "/v1/drift", { token: read });
    await send("GET", `/v1/models/${model}/versions/999`, "/v1/models/{model}/versions/{version}", { token: read });
    await flush(model);

    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    ajv.addSchema(doc, "doc");
    const problems: string[] = [];
    for (const s of seen) {
      const responses = doc.paths[s.path]?.[s.method.toLowerCase()]?.responses;
      const key = responses && (String(s.status) in responses ? String(s.status) : "default");
      const content = key ? responses[key]?.content : undefined;
      const where = `${s.method} ${s.path} ${s.status}`;
      if (!content) {
        if (s.body !== "") problems.push(`${where}: a body the document does not describe`);
        continue;
      }
      const media = Object.keys(content).find((m) => s.type.startsWith(m));
      if (!media) {
        problems.push(`${where}: ${s.type} is not one of ${Object.keys(content).join(", ")}`);
        continue;
      }
      if (media !== "application/json" || !content[media]?.schema) continue;
      const validate = ajv.getSchema(`doc#/paths/${pointer(s.path)}/${s.method.toLowerCase()}/responses/${key}/content/${pointer(media)}/schema`)!;
      if (!validate(JSON.parse(s.body))) problems.push(`${where}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
    }
    expect(problems).toEqual([]);
    // every operation answered at least once with a success and once with an error
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const ok = new Set(seen.filter((s) => s.status < 300).map((s) => `${s.method} ${s.path}`));
    const failed = new Set(seen.filter((s) => s.status >= 400).map((s) => `${s.method} ${s.path}`));
    expect(operations.filter((op) => !ok.has(op))).toEqual([]);
    expect(operations.filter((op) => !failed.has(op) && !op.endsWith("/healthz") && !op.endsWith("/openapi.json"))).toEqual([]);
  });
});
