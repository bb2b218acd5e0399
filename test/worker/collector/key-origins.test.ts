// Origin-bound ingest keys: a key may name the origins whose pages may use it; other origins get
// 403 and no CORS permission. Preflights carry no key, so they allow an origin some active ingest
// key allows: this file creates unbound ingest keys only in its last test.
import { describe, expect, it } from "vitest";
import { makeReport } from "../ingest-helpers.ts";
import { BOOTSTRAP, call, expectError, publish, rollout, unique } from "../registry-helpers.ts";

const APP = "https://app.example.com";
const OTHER = "https://evil.example.net";

async function boundModel(origins: string[]) {
  const model = unique("origins");
  const { version, sha256 } = await publish(model);
  await rollout(model, { stable: version });
  const res = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "ingest", origins } });
  expect(res.status, await res.clone().text()).toBe(201);
  const key = (await res.json()) as { token: string; origins: string[] | null };
  return { model, version, sha256, token: key.token, origins: key.origins };
}

function preflight(origin: string, path = "/v1/reports") {
  return call("OPTIONS", path, { headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" } });
}

describe("origin-bound ingest keys", () => {
  it("stores origins as browsers send them, and refuses what is not an origin or not an ingest key", async () => {
    const { origins } = await boundModel([APP, "https://Shop.Example.com:443/", APP]);
    expect(origins).toEqual([APP, "https://shop.example.com"]);
    for (const bad of ["https://app.example.com/path", "ftp://app.example.com", "app.example.com", "https://user:pw@app.example.com", "https://app.example.com?x"]) {
      await expectError(await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "ingest", origins: [bad] } }), 400, "validation");
    }
    await expectError(await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "read", origins: [APP] } }), 400, "validation");
  });

  it("serves pages of its origins, with the origin echoed in CORS, and requests without Origin", async () => {
    const { model, version, sha256, token } = await boundModel([APP]);
    const report = makeReport(model, version);
    const res = await call("POST", "/v1/reports", { token, json: { reports: [report] }, headers: { Origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(res.headers.get("Vary")).toMatch(/Origin/);
    expect(((await res.json()) as { accepted: string[] }).accepted).toEqual([report.id]);
    const assignment = await call("GET", `/v1/assignment?model=${model}&client=c1`, { token, headers: { Origin: APP } });
    expect(assignment.status).toBe(200);
    expect(assignment.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect((await call("GET", `/v1/artifacts/${sha256}`, { token, headers: { Origin: APP } })).status).toBe(200);
    const pre = await preflight(APP);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    // no Origin header: a Node runtime or a server, which could send any Origin anyway
    expect((await call("POST", "/v1/reports", { token, json: { reports: [makeReport(model, version)] } })).status).toBe(200);
  });

  it("refuses other origins with 403 and no CORS permission: reports, beacons, assignment, artifacts and preflights", async () => {
    const { model, version, sha256, token } = await boundModel([APP]);
    const checks = [
      await call("POST", "/v1/reports", { token, json: { reports: [makeReport(model, version)] }, headers: { Origin: OTHER } }),
      await call("POST", `/v1/reports?key=${encodeURIComponent(token)}`, { body: JSON.stringify({ reports: [makeReport(model, version)] }), headers: { Origin: OTHER, "Content-Type": "text/plain" } }),
      await call("GET", `/v1/assignment?model=${model}&client=c1`, { token, headers: { Origin: OTHER } }),
      await call("GET", `/v1/artifacts/${sha256}`, { token, headers: { Origin: OTHER } }),
      await call("POST", "/v1/reports", { token, json: { reports: [makeReport(model, version)] }, headers: { Origin: "null" } }),
      await preflight(OTHER),
      await preflight(OTHER, `/v1/assignment?model=${model}&client=c1`),
    ];
    for (const res of checks) {
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      await expectError(res, 403, "forbidden");
    }
    const stats = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
    expect(((await stats.json()) as { total: { accepted: number } }).total.accepted).toBe(0);
  });

  it("refuses an admin key on the ingest routes from a page (a request with Origin), and serves it without", async () => {
    const model = unique("origins-admin");
    const { version, sha256 } = await publish(model);
    await rollout(model, { stable: version });
    const fromPage = [
      await call("GET", `/v1/assignment?model=${model}&client=c1`, { token: BOOTSTRAP, headers: { Origin: APP } }),
      await call("POST", "/v1/reports", { token: BOOTSTRAP, json: { reports: [makeReport(model, version)] }, headers: { Origin: APP } }),
      await call("GET", `/v1/artifacts/${sha256}`, { token: BOOTSTRAP, headers: { Origin: APP } }),
    ];
    for (const res of fromPage) expect(await expectError(res, 403, "forbidden")).toBe("an admin key in a page is every visitor's: pages use an ingest key (driftline keys create --role ingest)");
    expect((await call("GET", `/v1/assignment?model=${model}&client=c1`, { token: BOOTSTRAP })).status).toBe(200);
    // the admin routes still take it from the dashboard's page
    expect((await call("GET", `/v1/models/${model}`, { token: BOOTSTRAP, headers: { Origin: APP } })).status).toBe(200);
  });

  it("a key without origins serves every origin as before, CORS `*` (and then preflights allow every origin)", async () => {
    const model = unique("origins-any");
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const res = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "ingest" } });
    const key = (await res.json()) as { token: string; origins: string[] | null };
    expect(key.origins).toBeNull();
    const report = await call("POST", "/v1/reports", { token: key.token, json: { reports: [makeReport(model, version)] }, headers: { Origin: OTHER } });
    expect(report.status).toBe(200);
    expect(report.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const pre = await preflight(OTHER);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
