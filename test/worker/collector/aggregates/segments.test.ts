import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../../collector/index.ts";
import { PAGE_BYTES, forEachPage, pageEnds, rowsOf } from "../../../../collector/aggregates/store.ts";
import { openDb } from "../../../../collector/db/client.ts";
import { aggregates } from "../../../../collector/db/schema.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError } from "../../registry-helpers.ts";

/** The real D1 database, noting how many rows each statement on the aggregates answers, and the stored text it carries. */
function answerSizes(real: D1Database) {
  const answers: { rows: number; bytes: number }[] = [];
  const forward = <T extends object>(target: T, prop: string | symbol) => {
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  const text = (rows: unknown[]) => rows.reduce<number>((n, row) => n + Object.values(row as object).reduce<number>((m, v) => m + (typeof v === "string" ? v.length : 0), 0), 0);
  const counted = (statement: D1PreparedStatement, aggregates: boolean): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...params: unknown[]) => counted(target.bind(...params), aggregates);
        if (prop === "all")
          return async () => {
            const result = await target.all();
            if (aggregates) answers.push({ rows: result.results.length, bytes: text(result.results) });
            return result;
          };
        if (prop === "raw")
          return async (options?: { columnNames?: boolean }) => {
            const rows = await target.raw(options as { columnNames: true });
            if (aggregates) answers.push({ rows: rows.length, bytes: text(rows) });
            return rows;
          };
        return forward(target, prop);
      },
    });
  const db = new Proxy(real, {
    get: (target, prop) => (prop === "prepare" ? (query: string) => counted(target.prepare(query), /from "aggregates"/.test(query)) : forward(target, prop)),
  });
  return { db, answers };
}

interface Stats {
  reports: number;
  rows: number;
  errors: Record<string, number>;
  error_rate: number;
  latency_p95_ms: number | null;
  latency: Record<string, { count: number; p95: number }>;
}

describe("segments", async () => {
  const { model, version, token } = await liveModel("segments");
  const { token: read } = await createKey("default", "read");
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  // five app versions (the tests cap values at 3 per key), two backends; errors and latency differ by both
  const reports = ["1.0", "2.0", "3.0", "4.0", "5.0"].flatMap((appVersion, v) =>
    ["wasm", "webgpu"].map((backend) =>
      makeReport(model, version, { start, segment: { appVersion, backend }, backend, errors: { validation: v + 1 }, latencyMs: [backend === "wasm" ? 1 : 10 * (v + 1)] }),
    ),
  );
  // one at a time, so which values are admitted first is deterministic
  for (const r of reports) await postReports(token, [r]);
  await flush(model);
  const range = `from=${start}&to=${start + 60_000}`;

  async function stats(segment: string): Promise<Stats> {
    const res = await call("GET", `/v1/stats?model=${model}&${range}&segment=${encodeURIComponent(segment)}`, { token: read });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Stats;
  }

  it("slices errors and latency by any segment key", async () => {
    const all = await stats("");
    expect(all).toMatchObject({ reports: 10, rows: 30, errors: { validation: 30 } });
    const v1 = await stats("appVersion:1.0");
    expect(v1).toMatchObject({ reports: 2, rows: 6, errors: { validation: 2 } });
    expect(v1.error_rate).toBeCloseTo(2 / 8, 12);
    const webgpu = await stats("backend:webgpu");
    expect(Object.keys(webgpu.latency)).toEqual(["webgpu"]);
    expect(webgpu.latency.webgpu!.count).toBe(15);
    const one = await stats("appVersion:2.0,backend:webgpu");
    expect(one).toMatchObject({ reports: 1, latency: { webgpu: { count: 3, p95: 20 } } });
  });

  it("caps the values of a key and counts the rest as other", async () => {
    expect((await stats("appVersion:4.0")).reports).toBe(0);
    const other = await stats("appVersion:other");
    expect(other).toMatchObject({ reports: 4, errors: { validation: 4 + 5 + 4 + 5 } });
    const res = await call("GET", `/v1/drift?model=${model}&${range}&segment=appVersion:other`, { token: read });
    expect(((await res.json()) as { count: number }).count).toBe(12);
  });

  it("reads a slice whatever the length of its values, up to the 64 characters a value may have", async () => {
    const long = await liveModel("segments-long");
    // a device class as a page may name it: 62 characters, spaces and brackets among them
    const device = "Samsung Galaxy S23 Ultra (SM-S918B) Chrome 131.0 on Android 14";
    for (const backend of ["wasm", "webgpu"]) await postReports(long.token, [makeReport(long.model, long.version, { start, segment: { device, backend }, backend })]);
    await flush(long.model);
    const slice = async (segment: string) => {
      const res = await call("GET", `/v1/stats?model=${long.model}&${range}&segment=${encodeURIComponent(segment)}`, { token: read });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as Stats).reports;
    };
    expect(await slice(`device:${device}`)).toBe(2);
    expect(await slice(`backend:webgpu,device:${device}`)).toBe(1);
  });

  it("reads stored rows in pages of at most 16 MB of stored text, two queries for a range of many small rows", async () => {
    const many = await liveModel("segments-many");
    // 300 minute rows: a report every 5 minutes over the last 25 hours (batches of 100)
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    for (let batch = 0; batch < 3; batch++) {
      const reports = Array.from({ length: 100 }, (_, i) => makeReport(many.model, many.version, { start: now - (batch * 100 + i + 1) * 300_000 }));
      expect((await postReports(many.token, reports)).accepted).toHaveLength(100);
    }
    await flush(many.model);
    const d1 = answerSizes(env.DB);
    const url = `http://collector/v1/stats?model=${many.model}&window=minute&from=${now - 26 * 3_600_000}&to=${now}`;
    const res = await app.fetch(new Request(url, { headers: { Authorization: `Bearer ${BOOTSTRAP}` } }), { ...env, DB: d1.db });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as Stats).reports).toBe(300);
    // the rows' keys and sizes, then one page of all 300 (pages of 64 rows took 5 queries)
    expect(d1.answers.map((a) => a.rows)).toEqual([300, 300]);
    expect(Math.max(...d1.answers.map((a) => a.bytes))).toBeLessThanOrEqual(PAGE_BYTES);
  });

  it("reads every row once, in key order, over many pages", async () => {
    const many = await liveModel("segments-pages");
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const reports = Array.from({ length: 30 }, (_, i) => makeReport(many.model, many.version, { start: now - (i + 1) * 60_000 }));
    expect((await postReports(many.token, reports)).accepted).toHaveLength(30);
    await flush(many.model);
    const pages: number[][] = [];
    const where = rowsOf({ model: many.key, role: "live", segment: "", ranges: [{ granularity: "minute", from: 0, to: now + 60_000 }] });
    // pages of about 3 rows: the ones after the first start past the previous page's last key
    const largest = await env.DB.prepare("select max(length(data)) as bytes from aggregates where model = ? and granularity = 'minute'").bind(many.key).first<{ bytes: number }>();
    await forEachPage(openDb(env), where, { windowStart: aggregates.windowStart }, async (rows) => void pages.push(rows.map((r) => r.windowStart)), 3 * largest!.bytes);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flat()).toEqual(reports.map((r) => Math.floor(r.start / 60_000) * 60_000).sort((a, b) => a - b));
  });

  it("cuts pages at 16 MB of stored text, a larger row alone", () => {
    const MB = 1024 * 1024;
    const rows = [10, 10, 5, 20, 0.001].map((mb, i) => ({ i, bytes: mb * MB }));
    expect(pageEnds(rows).map((r) => r.i)).toEqual([0, 2, 3, 4]);
    expect(pageEnds([])).toEqual([]);
  });

  it("answers a malformed segment with a 400", async () => {
    await expectError(await call("GET", `/v1/stats?model=${model}&segment=appVersion`, { token: read }), 400, "validation");
  });
});
