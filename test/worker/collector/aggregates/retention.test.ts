import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../../../collector/db/client.ts";
import { windowDrift } from "../../../../collector/drift/window-drift.ts";
import { pruneAggregates, retentionOf } from "../../../../collector/aggregates/retention.ts";
import { WINDOW_MS, cover } from "../../../../collector/aggregates/windows.ts";
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

  it("prunes a bounded page of expired rows per statement, however many there are", async () => {
    const { model, key, version, token } = await liveModel("retention");
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 4 * 3_600_000;
    // 25 minutes of one shard (one client): 25 minute rows past a retention of 1 hour
    await postReports(
      token,
      Array.from({ length: 25 }, (_, i) => makeReport(model, version, { client: "one", start: start + i * 60_000 })),
    );
    await flush(model);
    const changes: number[] = [];
    const counting = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements);
            changes.push(...results.map((r) => r.meta.changes));
            return results;
          };
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const short = { ...env, MINUTE_RETENTION_HOURS: "1" } as unknown as Env;
    await pruneAggregates(openDb({ ...env, DB: counting } as Env), short, Date.now(), 10);
    const left = await env.DB.prepare("select count(*) as n from aggregates where model = ? and granularity = 'minute'").bind(key).first<{ n: number }>();
    expect(left!.n).toBe(0);
    expect(Math.max(...changes)).toBeLessThanOrEqual(10);
  });

  it("keeps an hour row past its retention until it is rolled into its day, so a roll-up that lags loses nothing", async () => {
    const { model, key, version, token } = await liveModel("retention");
    // half an hour of calls: filed in an hour row, which rolls into its day an hour after the hour
    const now = Date.now();
    await postReports(token, [{ ...makeReport(model, version, { start: now - 1_800_000 }), end: now }]);
    await flush(model);
    const unrolled = () => env.DB.prepare("select count(*) as n from aggregates where model = ? and granularity = 'hour' and rolled = 0").bind(key).first<{ n: number }>();
    expect((await unrolled())!.n).toBe(1);
    // three days on, its roll-up still not done (its object failing meanwhile), under a day's hour retention
    await pruneAggregates(openDb(env), { ...env, HOUR_RETENTION_DAYS: "1" } as unknown as Env, now + 3 * 86_400_000);
    expect((await unrolled())!.n).toBe(1);
  });

  it("keeps minute rows no further back than hour rows: a shorter hour retention than the minutes' is read without overlap", () => {
    // docs/scale.md's advice (shorten HOUR_RETENTION_DAYS) taken to 1 day, minutes at their default 48 h
    const now = Date.UTC(2026, 0, 10, 14, 37);
    const retention = retentionOf({ ...env, HOUR_RETENTION_DAYS: "1" } as unknown as Env, now);
    expect(retention.minutesSince).toBeGreaterThanOrEqual(retention.hoursSince);
    const { ranges, from, to } = cover(now - 5 * WINDOW_MS.day, now, undefined, retention);
    const minutes = ranges.flatMap((r) => Array.from({ length: (r.to - r.from) / WINDOW_MS.minute }, (_, i) => r.from + i * WINDOW_MS.minute));
    expect(minutes).toHaveLength((to - from) / WINDOW_MS.minute);
    expect(new Set(minutes).size).toBe(minutes.length);
  });
});
