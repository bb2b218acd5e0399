import { describe, expect, it } from "vitest";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { call, createKey, expectError } from "../../registry-helpers.ts";

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

  it("answers a malformed segment with a 400", async () => {
    await expectError(await call("GET", `/v1/stats?model=${model}&segment=appVersion`, { token: read }), 400, "validation");
  });
});
