import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../../collector/db/client.ts";
import { windowDrift } from "../../../../collector/drift/window-drift.ts";
import { pruneAggregates } from "../../../../collector/aggregates/retention.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";

describe("retention", () => {
  it("drops minute rows past their retention and still answers from hour rows", async () => {
    const { model, key, version, token } = await liveModel("retention");
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000 + 17 * 60_000;
    await postReports(token, [makeReport(model, version, { start }), makeReport(model, version, { start: start + 60_000 })]);
    await flush(model);
    const short = { ...env, MINUTE_RETENTION_HOURS: "1" } as unknown as Env;
    const db = openDb(env);
    expect(await pruneAggregates(db, short, Date.now())).toBeGreaterThan(0);
    const left = await env.DB.prepare("select granularity, count(*) as n from aggregates where model = ? group by granularity order by granularity")
      .bind(key)
      .all<{ granularity: string; n: number }>();
    expect(left.results.map((r) => r.granularity)).toEqual(["day", "hour"]);
    const drift = await windowDrift(short, db, { model: key, version, role: "live", from: start, to: start + 2 * 60_000, segment: "" });
    expect(drift!.aggregate.reports).toBe(2);
    expect(drift!.to - drift!.from).toBe(3_600_000);
  });
});
