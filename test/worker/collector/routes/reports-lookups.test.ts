// What one report batch costs D1. The ingest key is public and the rate limits count requests, so
// a batch's D1 work must not grow with what a sender writes into it: a batch of 100 reports, each
// naming a model the key's app does not have, is one request.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../../collector/index.ts";
import { liveModel, makeReport } from "../../ingest-helpers.ts";
import { unique } from "../../registry-helpers.ts";

/** The test's D1, counting the statements that read the `models` table. */
function countingD1(real: D1Database): { db: D1Database; models: () => number } {
  let models = 0;
  const db = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop !== "prepare") return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (query: string) => {
        if (/from "models"/.test(query)) models++;
        return target.prepare(query);
      };
    },
  });
  return { db, models: () => models };
}

describe("POST /v1/reports", () => {
  it("looks up a batch's model names in a bounded number of D1 statements, however many made-up names it carries", async () => {
    const { model, version, token } = await liveModel("lookups");
    const made = Array.from({ length: 99 }, () => unique("nope"));
    const reports = [makeReport(model, version), ...made.map((name) => makeReport(name, 1))];
    const counting = countingD1(env.DB);
    const res = await app.fetch(
      new Request("http://collector/v1/reports", { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ reports }) }),
      { ...env, DB: counting.db },
    );
    const answer = (await res.json()) as { accepted: string[]; rejected: { code: string }[] };
    expect(res.status).toBe(200);
    expect(answer.accepted).toEqual([reports[0]!.id]);
    expect(answer.rejected.map((r) => r.code)).toEqual(made.map(() => "not_found"));
    expect(counting.models()).toBeLessThanOrEqual(2);
  });
});
