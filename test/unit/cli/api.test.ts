// The CLI's HTTP client against a real local server that closes the connection of each request
// the first time it comes, unanswered: what `wrangler dev` on a loaded machine now and then does to
// a request that comes on a kept-alive connection (undici: UND_ERR_SOCKET "other side closed").
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../../../cli/api.ts";

describe("the CLI's requests", () => {
  let server: Server;
  let url: string;
  const closed = new Set<string>();
  const answered: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const call = `${req.method} ${req.url}`;
      if (!closed.has(call)) return void (closed.add(call), req.socket.destroy());
      answered.push(call);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("send a GET, PUT or DELETE again when the connection closes before any answer, never a POST", async () => {
    const conn = { url, key: "adm_x" };
    expect(await request(conn, "/v1/models/churn")).toEqual({ ok: true });
    expect(await request(conn, "/v1/models/churn/rollout", { method: "PUT", json: { stable: 1 } })).toEqual({ ok: true });
    expect(await request(conn, "/v1/models/churn/alerts", { method: "DELETE" })).toEqual({ ok: true });
    // a POST may have been taken (a rollback applied twice rolls back two versions): it is not sent again
    await expect(request(conn, "/v1/models/churn/rollback", { method: "POST", json: {} })).rejects.toThrow(/^the collector at http:\/\/127\.0\.0\.1:\d+ does not answer \(UND_ERR_SOCKET\)$/);
    expect(answered).toEqual(["GET /v1/models/churn", "PUT /v1/models/churn/rollout", "DELETE /v1/models/churn/alerts"]);
  });

  it("send a POST again only when the collector takes it once (resendable: a publish, a change with If-Match)", async () => {
    const conn = { url, key: "adm_x" };
    expect(await request(conn, "/v1/models/pets/versions", { method: "POST", json: {}, resendable: true })).toEqual({ ok: true });
    await expect(request(conn, "/v1/keys", { method: "POST", json: {} })).rejects.toThrow(/does not answer \(UND_ERR_SOCKET\)$/);
    expect(answered.slice(-1)).toEqual(["POST /v1/models/pets/versions"]);
  });
});
