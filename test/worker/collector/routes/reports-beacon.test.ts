// navigator.sendBeacon can set neither headers nor a JSON content type without a CORS preflight,
// so POST /v1/reports also takes the ingest key as ?key= and the batch as text/plain — only there.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveModel, makeReport } from "../../ingest-helpers.ts";
import { createKey, expectError } from "../../registry-helpers.ts";

function beacon(query: string, body: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(`http://collector/v1/reports${query}`, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8", ...headers }, body });
}

describe("beaconed reports", () => {
  it("accepts a text/plain batch with the ingest key in ?key=", async () => {
    const { model, version, token } = await liveModel("beacon");
    const report = makeReport(model, version, { client: "page-1" });
    const res = await beacon(`?key=${encodeURIComponent(token)}`, JSON.stringify({ reports: [report] }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: string[] }).accepted).toEqual([report.id]);
  });

  it("refuses a wrong ?key=, and prefers the Authorization header when both are sent", async () => {
    await expectError(await beacon("?key=ing_not_a_key", '{"reports":[]}'), 401, "unauthorized");
    await expectError(await beacon("?key=ing_not_a_key", '{"reports":[]}', { authorization: "Bearer also_wrong" }), 401, "unauthorized");
  });

  it("takes ?key= on no other route", async () => {
    const { token } = await createKey("default", "read");
    await expectError(await exports.default.fetch(`http://collector/v1/models?key=${encodeURIComponent(token)}`), 401, "unauthorized");
  });
});
