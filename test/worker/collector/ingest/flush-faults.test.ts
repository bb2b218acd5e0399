import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { shardCount } from "../../../../collector/config.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { liveModel, makeReport, postReports, TOTALS_BY_GRANULARITY } from "../../ingest-helpers.ts";
import { call } from "../../registry-helpers.ts";

/** The parts of an aggregator a test swaps (private in the class). */
interface Swappable {
  env: Env;
  sql: SqlStorage;
}

/**
 * The real D1 database, except that the `failAt`-th statement prepared (1-based) is one that
 * fails when it runs: alone it throws; in a batch D1 itself rolls the whole batch back.
 * `struck()` tells whether the flush got that far.
 */
function faultyD1(real: D1Database, failAt: number) {
  let prepared = 0;
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => target.prepare(++prepared === failAt ? "insert into no_such_table values (?1)" : query);
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db, struck: () => prepared >= failAt };
}

/** The object's SQLite, except that the first statement matching `match` throws. */
function faultySql(real: SqlStorage, match: RegExp) {
  let struck = false;
  const sql = new Proxy(real, {
    get(target, prop) {
      if (prop === "exec") {
        return (query: string, ...bindings: unknown[]) => {
          if (!struck && match.test(query)) {
            struck = true;
            throw new Error(`injected storage failure: ${query}`);
          }
          return target.exec(query, ...(bindings as SqlStorageValue[]));
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { sql, struck: () => struck };
}

/** Reports stored per window size (all shards, all traffic). */
async function storedReports(model: string): Promise<Record<string, number>> {
  const rows = await env.DB.prepare(TOTALS_BY_GRANULARITY).bind(model, model).all<{ granularity: string; reports: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.granularity, r.reports]));
}

/** Hour rows of a model not yet rolled into their day rows. */
async function unrolledHours(model: string): Promise<number> {
  const row = await env.DB.prepare("select count(*) as n from aggregates where model = ? and granularity = 'hour' and rolled = 0").bind(model).first<{ n: number }>();
  return row!.n;
}

/** Posts three reports of one client (so one shard), with segments; returns its object and a fourth report. */
async function threeReports(prefix: string) {
  const { model, key, version, token } = await liveModel(prefix);
  const client = `${prefix}-client`;
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
  const reports = [1, 2, 3].map((i) => makeReport(model, version, { client, start, segment: { appVersion: `4.${i}`, backend: "wasm" } }));
  expect((await postReports(token, reports)).accepted).toHaveLength(3);
  const late = makeReport(model, version, { client, start, segment: { appVersion: "4.1", backend: "wasm" } });
  return { model: key, token, late: { ...late, model: key }, stub: aggregator(env, key, shardOf(client, shardCount(env))) };
}

/** A fault: the n-th D1 statement of a flush, or the first storage call of the object matching. */
type Fault = { d1Statement: number } | { storage: RegExp };

/**
 * Flushes once with `fault` in place (a struck fault must fail the flush), takes in `late` (a
 * report that arrives before the retry: the flush after a failure must not merge the failed
 * one's reports twice), then flushes once healthy.
 */
async function flushThroughFault(stub: DurableObjectStub<ModelAggregator>, fault: Fault, late: Report): Promise<boolean> {
  return runInDurableObject(stub, async (instance: ModelAggregator) => {
    const parts = instance as unknown as Swappable;
    const [realEnv, realSql] = [parts.env, parts.sql];
    const d1 = "d1Statement" in fault ? faultyD1(env.DB, fault.d1Statement) : undefined;
    const storage = "storage" in fault ? faultySql(realSql, fault.storage) : undefined;
    if (d1) parts.env = { ...realEnv, DB: d1.db };
    if (storage) parts.sql = storage.sql;
    let failed = false;
    try {
      await instance.flush();
    } catch {
      failed = true;
    } finally {
      parts.env = realEnv;
      parts.sql = realSql;
    }
    const struck = d1?.struck() ?? storage!.struck();
    expect(failed).toBe(struck);
    expect(await instance.ingest(late.model, shardOf(late.client, shardCount(env)), [late])).toEqual([{ id: late.id, status: "accepted" }]);
    await instance.flush();
    expect(instance.stats().pending).toBe(0);
    return struck;
  });
}

describe("exactly once under storage faults", () => {
  it("fails at each D1 statement of a flush in turn (reads, rows, the tally): 0 lost, 0 doubled", async () => {
    let statement = 1;
    for (;;) {
      const { model, stub, late } = await threeReports(`stmt${statement}`);
      const struck = await flushThroughFault(stub, { d1Statement: statement }, late);
      expect(await storedReports(model), `fault at statement ${statement}`).toEqual({ minute: 4, hour: 4, day: 4 });
      if (!struck) break;
      statement++;
    }
    // whether the object's stored rows are in report_totals (once an object's life), the
    // stored-rows reads (minute and hour windows), then the write batch: the flush record,
    // minute "", hour × ("", 3 combinations: pairs have rows only past the combination cap),
    // the chunk's totals; the open hour's day rows come when it rolls up
    expect(statement - 1).toBe(1 + 2 + 1 + 1 + 4 + 1);
  });

  it("fails at each D1 statement of an hour's roll-up in turn (reads, day rows, marks): 0 lost, 0 doubled", async () => {
    let statement = 1;
    for (;;) {
      const { model, stub, late } = await threeReports(`roll${statement}`);
      await runInDurableObject(stub, (instance: ModelAggregator) => instance.flush());
      expect(await unrolledHours(model)).toBe(4);
      // three hours later the hour is due: the next flush rolls it up
      vi.useFakeTimers({ toFake: ["Date"] });
      try {
        vi.setSystemTime(Date.now() + 3 * 3_600_000);
        const struck = await flushThroughFault(stub, { d1Statement: statement }, late);
        expect(await storedReports(model), `fault at statement ${statement}`).toEqual({ minute: 4, hour: 4, day: 4 });
        expect(await unrolledHours(model)).toBe(0);
        if (!struck) break;
      } finally {
        vi.useRealTimers();
      }
      statement++;
    }
    // nothing is pending, so the flush is the roll-up: the page of unrolled hours, the day
    // rows' read, the batch (4 marks, 4 day rows), the oldest unrolled hour left
    expect(statement - 1).toBe(1 + 1 + 8 + 1);
  });

  it("fails at the log delete after D1 committed (a crash before the object cleared its log): counts stay exact", async () => {
    const { model, stub, late } = await threeReports("crash");
    expect(await flushThroughFault(stub, { storage: /^delete from pending where chunk = \?/ }, late)).toBe(true);
    expect(await storedReports(model)).toEqual({ minute: 4, hour: 4, day: 4 });
  });

  it("answers 503 when logging a report fails, and counts the retried batch once", async () => {
    const { model, key, version, token } = await liveModel("log-fault");
    const client = "log-fault-client";
    const stub = aggregator(env, key, shardOf(client, shardCount(env)));
    const reports = [1, 2].map(() => makeReport(model, version, { client }));
    expect((await postReports(token, [reports[0]!])).accepted).toHaveLength(1);
    let realSql: SqlStorage | undefined;
    await runInDurableObject(stub, (instance: ModelAggregator) => {
      const parts = instance as unknown as Swappable;
      realSql = parts.sql;
      parts.sql = faultySql(realSql, /^insert into pending/).sql;
    });
    const failed = await call("POST", "/v1/reports", { token, json: { reports } });
    expect(failed.status).toBe(503);
    await runInDurableObject(stub, (instance: ModelAggregator) => {
      (instance as unknown as Swappable).sql = realSql!;
    });
    const retried = await postReports(token, reports);
    expect(retried).toMatchObject({ accepted: [reports[1]!.id], duplicates: [reports[0]!.id] });
    await stub.flush();
    expect(await storedReports(key)).toEqual({ minute: 2, hour: 2, day: 2 });
  });
});
