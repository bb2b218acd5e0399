import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../../collector/index.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError } from "../../registry-helpers.ts";

/** The real D1 database, noting how many rows each statement it runs answers. */
function answerSizes(real: D1Database) {
  const sizes: number[] = [];
  const forward = <T extends object>(target: T, prop: string | symbol) => {
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  const counted = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...params: unknown[]) => counted(target.bind(...params));
        if (prop === "all")
          return async () => {
            const result = await target.all();
            sizes.push(result.results.length);
            return result;
          };
        if (prop === "raw")
          return async (options?: { columnNames?: boolean }) => {
            const rows = await target.raw(options as { columnNames: true });
            sizes.push(rows.length);
            return rows;
          };
        return forward(target, prop);
      },
    });
  const db = new Proxy(real, { get: (target, prop) => (prop === "prepare" ? (query: string) => counted(target.prepare(query)) : forward(target, prop)) });
  return { db, largest: () => Math.max(...sizes) };
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

  it("reads stored rows a page at a time, so no read answers more than D1's 50 MB however many rows a range holds", async () => {
    const many = await liveModel("segments-many");
    // 75 minute rows: a report every half hour over the last 37 hours
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    await postReports(
      many.token,
      Array.from({ length: 75 }, (_, i) => makeReport(many.model, many.version, { start: now - (i + 1) * 1_800_000 })),
    );
    await flush(many.model);
    const d1 = answerSizes(env.DB);
    const url = `http://collector/v1/stats?model=${many.model}&window=minute&from=${now - 38 * 3_600_000}&to=${now}`;
    const res = await app.fetch(new Request(url, { headers: { Authorization: `Bearer ${BOOTSTRAP}` } }), { ...env, DB: d1.db });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as Stats).reports).toBe(75);
    expect(d1.largest()).toBeLessThanOrEqual(64);
  });

  it("answers a malformed segment with a 400", async () => {
    await expectError(await call("GET", `/v1/stats?model=${model}&segment=appVersion`, { token: read }), 400, "validation");
  });
});
