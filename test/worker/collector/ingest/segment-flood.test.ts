// Segments under a flood of junk from an ingest key (issue 11, item 8). The worker tests cap
// values at 3 per key (SEGMENT_MAX_VALUES in test/worker/vitest.config.ts) and keys at 16.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardCount } from "../../../../collector/config.ts";
import type { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { SegmentCap } from "../../../../collector/ingest/segment-cap.ts";
import { modelKey } from "../../../../collector/registry/model-key.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, unique } from "../../registry-helpers.ts";

/** The admitted values by key, from `GET /v1/segments`. */
async function admitted(model: string): Promise<Record<string, string[]>> {
  const res = await call("GET", `/v1/segments?model=${model}`, { token: BOOTSTRAP });
  expect(res.status).toBe(200);
  return ((await res.json()) as { segments: Record<string, string[]> }).segments;
}

/** Reports `/v1/stats` counts in one segment over the last hour. */
async function sliceReports(model: string, segment: string): Promise<number> {
  const res = await call("GET", `/v1/stats?model=${model}&window=minute&from=${new Date(Date.now() - 3_600_000).toISOString()}&segment=${encodeURIComponent(segment)}`, { token: BOOTSTRAP });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { reports: number }).reports;
}

/** Ingest counters of the model, summed over shards. */
async function totals(model: string): Promise<{ accepted: number; rowsWritten: number }> {
  const res = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
  return ((await res.json()) as { total: { accepted: number; rowsWritten: number } }).total;
}

/** The real D1 database, counting the rows its batches answer (`read()`) and the batches (`batches()`). */
function countingD1(real: D1Database) {
  let rows = 0;
  let batches = 0;
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => {
          batches++;
          const results = await target.batch(statements);
          for (const r of results) rows += r.results?.length ?? 0;
          return results;
        };
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db, read: () => rows, batches: () => batches };
}

/** Aggregators read the admitted values again at most this often (collector/ingest/segment-cap.ts). */
const refresh = () => new Promise((r) => setTimeout(r, 2_100));

/**
 * Waits for the next UTC hour unless 30 s are left in this one. The caps count values by the hour
 * and a new hour forgets the candidates counted so far (collector/ingest/segment-cap.ts), so a
 * test whose candidates must outscore the admitted values at a later sync runs within one hour:
 * one that crossed it before that sync read 'expected [ 'junk-0', 'junk-1', 'junk-2' ] to include '9.9.9''.
 */
async function withinOneHour(): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < 30_000) await new Promise((r) => setTimeout(r, left + 50));
}

describe("segments cannot be flooded", () => {
  it("stores at most SEGMENT_MAX_KEYS keys when reports race across shards", async () => {
    const { model, version, token } = await liveModel("seg-keys");
    // 19 keys, each first seen at the same time on one of three shards
    await Promise.all(Array.from({ length: 19 }, (_, i) => postReports(token, [makeReport(model, version, { client: `c-${i}`, segment: { [`k${i}`]: "x" } })])));
    expect(Object.keys(await admitted(model)).length).toBe(16);
  });

  it("admits a real app version that gets traffic after 60 junk values filled the key", async () => {
    const { model, version, token } = await liveModel("seg-junk");
    await withinOneHour();
    for (let i = 0; i < 60; i++) await postReports(token, [makeReport(model, version, { client: `junk-${i}`, segment: { appVersion: `junk-${i}` } })]);
    expect((await admitted(model)).appVersion).toHaveLength(3);

    // the release goes out: its clients report it again and again
    const real = (n: number) => Array.from({ length: n }, () => makeReport(model, version, { client: "real-1", segment: { appVersion: "9.9.9" } }));
    for (const r of real(6)) await postReports(token, [r]);
    await refresh();
    for (const r of real(4)) await postReports(token, [r]);
    await flush(model);
    expect((await admitted(model)).appVersion).toContain("9.9.9");
    expect(await sliceReports(model, "appVersion:9.9.9")).toBeGreaterThanOrEqual(4);
    // still three values: one junk value made room
    expect((await admitted(model)).appVersion).toHaveLength(3);
  });

  it("admits a real segment key that gets traffic after 16 junk keys filled the model's keys", async () => {
    const { model, version, token } = await liveModel("seg-junk-keys");
    await withinOneHour();
    // two reports of 8 made-up keys each, before the app's first report
    for (const part of [0, 1]) {
      const segment = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`junk${part * 8 + i}`, "x"]));
      await postReports(token, [makeReport(model, version, { client: `junk-${part}`, segment })]);
    }
    expect(Object.keys(await admitted(model))).toHaveLength(16);

    // the app's clients report their region again and again
    const real = (n: number) => Array.from({ length: n }, () => makeReport(model, version, { client: "real-1", segment: { region: "eu" } }));
    for (const r of real(6)) await postReports(token, [r]);
    await refresh();
    for (const r of real(4)) await postReports(token, [r]);
    await flush(model);
    const keys = Object.keys(await admitted(model));
    expect(keys).toContain("region");
    expect(keys).toHaveLength(16);
    expect(await sliceReports(model, "region:eu")).toBeGreaterThanOrEqual(4);
  });

  it("keeps the keys the runtime sets however much junk one sender sends", async () => {
    const { model, version, token } = await liveModel("seg-runtime-keys");
    const runtimeKeys = { backend: "wasm", backendReason: "default", device: "desktop-8c-8g-nvidia" };
    for (let i = 0; i < 3; i++) await postReports(token, [makeReport(model, version, { client: "real-1", segment: { ...runtimeKeys, region: "eu" } })]);
    // one client fills the other 12 keys and outscores the real ones, then sends 8 more keys
    const junk = (from: number, to: number) => Object.fromEntries(Array.from({ length: to - from }, (_, i) => [`junk${from + i}`, "x"]));
    for (let round = 0; round < 5; round++)
      await postReports(token, [makeReport(model, version, { client: "junk-1", segment: junk(0, 8) }), makeReport(model, version, { client: "junk-1", segment: junk(8, 12) })]);
    for (let round = 0; round < 5; round++) await postReports(token, [makeReport(model, version, { client: "junk-1", segment: junk(12, 20) })]);
    // each sync (every 2 s) lets one key displace another
    for (let sync = 0; sync < 4; sync++) {
      await refresh();
      await postReports(token, [makeReport(model, version, { client: "junk-1", segment: junk(12, 20) })]);
    }
    const keys = Object.keys(await admitted(model));
    expect(keys).toHaveLength(16);
    expect(keys).not.toContain("region");
    expect(keys).toEqual(expect.arrayContaining(Object.keys(runtimeKeys)));
  });

  it("lets junk seen once lose its place two hours later to a value seen once", async () => {
    const { model, version, token } = await liveModel("seg-decay");
    await withinOneHour();
    for (let i = 0; i < 5; i++) await postReports(token, [makeReport(model, version, { client: "c-1", segment: { appVersion: `junk-${i}` } })]);
    // two hours pass (explicit timestamps: the counts' hour moves back by two)
    await env.DB.prepare("update segment_values set epoch = epoch - 2 where model = ?").bind(modelKey("default", model)).run();
    await refresh();
    await postReports(token, [makeReport(model, version, { client: "c-1", segment: { appVersion: "1.0" } })]);
    await refresh();
    await postReports(token, [makeReport(model, version, { client: "c-1", segment: { backend: "wasm" } })]);
    const values = (await admitted(model)).appVersion!;
    expect(values).toContain("1.0");
    expect(values).toHaveLength(3);
  });

  it("resets a polluted key with an admin key; later values are admitted afresh", async () => {
    const { model, version, token } = await liveModel("seg-reset");
    for (let i = 0; i < 5; i++) await postReports(token, [makeReport(model, version, { client: "c-1", segment: { appVersion: `junk-${i}`, backend: "wasm" } })]);
    const { token: read } = await createKey("default", "read");
    await expectError(await call("DELETE", `/v1/segments?model=${model}&key=appVersion`, { token: read }), 403, "forbidden");
    await expectError(await call("DELETE", `/v1/segments?model=${model}&key=bad%20key`, { token: BOOTSTRAP }), 400, "validation");

    const res = await call("DELETE", `/v1/segments?model=${model}&key=appVersion`, { token: BOOTSTRAP });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model, key: "appVersion", deleted: 3 });
    expect(await admitted(model)).toEqual({ backend: ["wasm"] });

    await refresh();
    await postReports(token, [makeReport(model, version, { client: "c-1", segment: { appVersion: "5.0", backend: "wasm" } })]);
    await flush(model);
    expect(await admitted(model)).toEqual({ appVersion: ["5.0"], backend: ["wasm"] });
    expect(await sliceReports(model, "appVersion:5.0")).toBe(1);
  });

  it("asks D1 about a value once however often it comes, also one that is not well-formed text", async () => {
    // a lone surrogate is stored as replacement characters, so the value read back never matched
    // the one reported: every report of it tried to admit it again, a D1 batch each, and it
    // reported as "other" while its key had room
    const d1 = countingD1(env.DB);
    const cap = new SegmentCap(d1.db, unique("seg-surrogate"), { values: 3, keys: 16 });
    const segments = [];
    for (let i = 0; i < 20; i++) segments.push((await cap.admit({ region: "x\ud800" })).segment);
    expect(d1.batches()).toBeLessThanOrEqual(2);
    expect(segments.at(-1)).toEqual({ region: "x\ufffd" });
  });

  it("writes few D1 rows for segment values under a 300-combination flood", async () => {
    const { model, version, token } = await liveModel("seg-flood");
    const start = Math.floor(Date.now() / 60_000) * 60_000;
    const flood = (from: number) => Array.from({ length: 300 }, (_, i) => makeReport(model, version, { client: `c-${i % 30}`, start, tenure: [1], segment: { a: `a${from + i}`, b: `b${from + i}` } }));
    const send = async (reports: ReturnType<typeof flood>) => {
      for (let i = 0; i < reports.length; i += 100) expect((await postReports(token, reports.slice(i, i + 100))).accepted).toHaveLength(Math.min(100, reports.length - i));
      await flush(model);
    };
    await send(flood(0));
    const first = await totals(model);
    await send(flood(300));
    const second = await totals(model);
    const steady = (second.rowsWritten - first.rowsWritten) / 300;
    console.log(
      `300-combination flood: first ${first.rowsWritten} D1 rows (${(first.rowsWritten / 300).toFixed(3)} per report), then ${second.rowsWritten - first.rowsWritten} rows (${steady.toFixed(3)} per report)`,
    );
    const values = await env.DB.prepare("select count(*) as n from segment_values where model = ?").bind(modelKey("default", model)).first<{ n: number }>();
    expect(values!.n).toBe(6);
    expect(second.accepted).toBe(600);
  });

  it("reads only the rows a flush writes, however many segment rows a flood left in their window", async () => {
    const { model, key, version, token } = await liveModel("seg-reads");
    const client = "one-client";
    const start = Math.floor(Date.now() / 60_000) * 60_000;
    // 150 combinations of 8 junk keys (3 values each, all admitted): the open hour's window of
    // this shard holds 100 combination rows, a row per pair folded past the cap and "other"
    const junk = (i: number) => Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}`, `v${Math.floor(i / 3 ** k) % 3}`]));
    for (let i = 0; i < 150; i += 75)
      await postReports(
        token,
        Array.from({ length: 75 }, (_, j) => makeReport(model, version, { client, start, tenure: [1], segment: junk(i + j) })),
      );
    await flush(model);
    const stored = await env.DB.prepare("select count(*) as n from aggregates where model = ? and granularity = 'hour'").bind(key).first<{ n: number }>();
    expect(stored!.n).toBeGreaterThan(100);

    // one report of all traffic: its flush writes the minute and hour rows "" and reads those only
    await postReports(token, [makeReport(model, version, { client, start })]);
    const read = await runInDurableObject(aggregator(env, key, shardOf(client, shardCount(env))), async (instance: ModelAggregator) => {
      const parts = instance as unknown as { env: Env };
      const realEnv = parts.env;
      const d1 = countingD1(env.DB);
      parts.env = { ...realEnv, DB: d1.db };
      try {
        await instance.flush();
      } finally {
        parts.env = realEnv;
      }
      return d1.read();
    });
    expect(read).toBe(2);
  });
});
