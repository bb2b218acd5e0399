import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import { shardCount } from "../../../../collector/config.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey } from "../../registry-helpers.ts";

interface ShardStats {
  pending: number;
  quarantined: Record<string, number>;
}

async function ingestStats(model: string): Promise<ShardStats[]> {
  const res = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
  expect(res.status).toBe(200);
  return ((await res.json()) as { shards: ShardStats[] }).shards;
}

describe("unreadable stored data", () => {
  it("skips a corrupt aggregate row in reads, quarantines it at the next flush, and goes on counting", async () => {
    const { model, key, version, token } = await liveModel("corrupt");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000;
    const client = "steady-client";
    await postReports(token, [makeReport(model, version, { start, client })]);
    await flush(model);
    // one stored row is damaged behind the collector's back (a bad disk, a bad migration, a bug)
    const damaged = await env.DB.prepare("update aggregates set data = 'AAAA-not-an-aggregate' where model = ? and granularity = 'minute'").bind(key).run();
    expect(damaged.meta.changes).toBe(1);

    const { token: read } = await createKey("default", "read");
    const drift = await call("GET", `/v1/drift?model=${model}&version=${version}&from=${start}&to=${start + 60_000}`, { token: read });
    expect(drift.status).toBe(200);
    expect(((await drift.json()) as { skipped: number; count: number }).skipped).toBe(1);
    const stats = await call("GET", `/v1/stats?model=${model}&version=${version}&from=${start}&to=${start + 60_000}`, { token: read });
    expect(stats.status).toBe(200);
    expect(((await stats.json()) as { skipped: number }).skipped).toBe(1);
    expect((await call("GET", "/metrics", { token: read })).status).toBe(200);

    // the same window gets more reports: the flush sets the damaged row aside and stores the new ones
    await postReports(token, [makeReport(model, version, { start, client, tenure: [7] }), makeReport(model, version, { start, client, tenure: [8] })]);
    await flush(model);
    const shards = await ingestStats(model);
    expect(shards.reduce((n, s) => n + (s.quarantined["aggregate decode"] ?? 0), 0)).toBe(1);
    expect(shards.every((s) => s.pending === 0)).toBe(true);
    const aside = await env.DB.prepare("select reason, data from quarantine where model = ?").bind(key).all<{ reason: string; data: string }>();
    expect(aside.results).toEqual([{ reason: "decode", data: "AAAA-not-an-aggregate" }]);
    const after = await call("GET", `/v1/drift?model=${model}&version=${version}&from=${start}&to=${start + 60_000}`, { token: read });
    const body = (await after.json()) as { skipped: number; count: number };
    expect(body).toMatchObject({ skipped: 0, count: 2 });
  });

  it("quarantines a logged report it can no longer read and flushes the rest", async () => {
    const { model, key, version, token } = await liveModel("bad-log");
    const client = "logging-client";
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    await postReports(
      token,
      [1, 2, 3].map(() => makeReport(model, version, { client, start })),
    );
    const stub = aggregator(env, key, shardOf(client, shardCount(env)));
    await runInDurableObject(stub, async (_: ModelAggregator, state) => {
      state.storage.sql.exec("update pending set report = '{\"truncated' where seq = (select min(seq) from pending)");
    });
    // the object's memory still mirrors the log; a restart makes it drain the damaged log
    await runInDurableObject(stub, async (_: ModelAggregator, state) => {
      const { ModelAggregator: Fresh } = await import("../../../../collector/ingest/model-aggregator.ts");
      const fresh = new Fresh(state, env);
      await state.blockConcurrencyWhile(async () => {});
      await fresh.flush();
      expect(fresh.stats()).toMatchObject({ pending: 0, quarantined: { "report SyntaxError": 1 } });
    });
    const rows = await env.DB.prepare("select sum(reports) as n from aggregates where model = ? and granularity = 'minute'").bind(key).first<{ n: number }>();
    expect(rows!.n).toBe(2);
  });
});
