// The report ids an aggregator shard keeps to count a report sent again once. With the public
// ingest key anyone can send reports of fresh ids: each was kept 7 days, with no bound, until the
// object's storage (10 GB a Durable Object) was full and the shard stopped ingesting for good. A
// shard now keeps at most DEDUPE_MAX_IDS ids (test/worker/vitest.config.ts sets 10,000: above
// the ~4,600 reports a shard of ingest-fuzz.test.ts takes, whose resent ids must stay duplicates).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardCount } from "../../../../collector/config.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call } from "../../registry-helpers.ts";

describe("report ids a shard keeps", () => {
  it("keeps at most DEDUPE_MAX_IDS of them, lets the oldest logged go first, counts those it let go, and goes on ingesting", async () => {
    const { model, key, version, token } = await liveModel("dedupe");
    const client = "flooding-client";
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const ids = Array.from({ length: 10_100 }, (_, i) => `flood-${i}`);
    const reportsOf = (of: string[]) => of.map((id) => ({ ...makeReport(model, version, { client, start }), id }));
    for (let from = 0; from < ids.length; from += 100) expect((await postReports(token, reportsOf(ids.slice(from, from + 100)))).accepted).toHaveLength(100);

    const shard = aggregator(env, key, shardOf(client, shardCount(env)));
    const kept = () => runInDurableObject(shard, (_instance, state) => state.storage.sql.exec<{ n: number }>("select count(*) as n from seen").one().n);
    expect(await kept()).toBe(10_000);
    // the newest 10,000 are still known; the oldest 100 were let go, and one of them sent again counts again
    const again = await postReports(token, reportsOf([ids[10_099]!, ids[100]!, ids[0]!]));
    expect([again.duplicates, again.accepted]).toEqual([[ids[10_099], ids[100]], [ids[0]]]);
    expect(await kept()).toBe(10_000);

    const res = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
    const { total } = (await res.json()) as { total: Record<string, number> };
    expect(total).toMatchObject({ accepted: 10_101, duplicates: 2, idsKept: 10_000, idsEvicted: 101 });
  });
});

// A shard keeps a budget per filing window and sender (collector/ingest/sender-budget.ts) for 3
// days. Senders are client networks, and an IPv6 /48 holds 65,536 of them: each could add a
// budget for each of the ~4,400 windows a report may be filed in, with no bound but the 10 GB.
// vitest.config.ts sets SENDER_BUDGET_MAX_ROWS to 10,000.
describe("sender budgets a shard keeps", () => {
  it("keeps at most SENDER_BUDGET_MAX_ROWS of them, however many senders send", async () => {
    // without an address, as here, a report's client id stands for its network
    const { model, key, version, token } = await liveModel("budget-bound");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const clients: string[] = [];
    for (let i = 0; clients.length < 10_100; i++) if (shardOf(`sender-${i}`, shardCount(env)) === 0) clients.push(`sender-${i}`);
    for (let from = 0; from < clients.length; from += 100) {
      const batch = clients.slice(from, from + 100).map((client) => makeReport(model, version, { client, start }));
      expect((await postReports(token, batch)).accepted).toHaveLength(100);
    }

    const budgets = () => runInDurableObject(aggregator(env, key, 0), (_instance, state) => state.storage.sql.exec<{ n: number }>("select count(*) as n from sender_mass").one().n);
    expect(await budgets()).toBe(10_000);
  });
});
