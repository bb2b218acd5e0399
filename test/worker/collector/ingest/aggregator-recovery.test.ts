import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import { shardCount } from "../../../../collector/config.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { liveModel, makeReport, postReports } from "../../ingest-helpers.ts";

async function reportsInD1(key: string): Promise<number> {
  const row = await env.DB.prepare("select coalesce(sum(reports), 0) as n from aggregates where model = ? and granularity = 'minute' and segment = ''").bind(key).first<{ n: number }>();
  return row!.n;
}

async function setup() {
  const { model, key, version, token } = await liveModel("recover");
  const client = "one-client";
  return { model, key, version, token, client, stub: aggregator(env, key, shardOf(client, shardCount(env))) };
}

describe("ModelAggregator durability", () => {
  it("keeps acknowledged reports when the object is replaced before it flushed", async () => {
    const { model, key, version, token, client, stub } = await setup();
    const answer = await postReports(
      token,
      [1, 2, 3].map(() => makeReport(model, version, { client })),
    );
    expect(answer.accepted).toHaveLength(3);
    expect(await reportsInD1(key)).toBe(0);
    // a fresh instance over the same storage is what runs after an eviction or a restart
    await runInDurableObject(stub, async (_old: ModelAggregator, state) => {
      const fresh = new ModelAggregator(state, env);
      await state.blockConcurrencyWhile(async () => {});
      expect(fresh.stats().pending).toBe(3);
      await fresh.flush();
    });
    expect(await reportsInD1(key)).toBe(3);
  });

  it("applies a flush once even if the object died before clearing its log", async () => {
    const { model, key, version, token, client, stub } = await setup();
    const report = makeReport(model, version, { client });
    await postReports(token, [report]);
    await stub.flush();
    expect(await reportsInD1(key)).toBe(1);
    await runInDurableObject(stub, async (_old: ModelAggregator, state) => {
      // the log entry a crash between the D1 write and the log delete would leave behind: still
      // marked with the id of its chunk (its seq, 1), which D1's flush record names as stored
      const minute = Math.floor(report.start / 60_000) * 60_000;
      state.storage.sql.exec("insert into pending (seq, version, role, minute, segment, report, chunk) values (1, ?, 'live', ?, '', ?, 1)", version, minute, JSON.stringify(report));
      // the object starts without asking D1, so the entry looks pending until a flush drains the
      // log: that drain reads D1's flush record and drops it instead of storing it again
      const fresh = new ModelAggregator(state, env);
      await state.blockConcurrencyWhile(async () => {});
      expect(fresh.stats().pending).toBe(1);
      await fresh.flush();
      expect(fresh.stats().pending).toBe(0);
    });
    expect(await reportsInD1(key)).toBe(1);
  });
});
