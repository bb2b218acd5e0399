// Latency backends and error codes a report names: only a runtime's (protocol BACKENDS and
// ERROR_CODES) keep their own key, made-up ones count under `other`, and a sketch's key limit
// (protocol/sketch/kinds.ts) is never what decides which keep theirs — end to end through ingest,
// flush and /v1/stats.
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../../protocol/limits.ts";
import { ErrorCounts, LatencySketch, QuantileSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call } from "../../registry-helpers.ts";

/**
 * A report of `keys.length` rows: one call on each backend and one error of each code in `keys`,
 * each under its own name (the maps are filled directly, as any client may encode them: up to
 * the decoders' limit, none of them `other`).
 */
function keyedReport(model: string, version: number, start: number, keys: string[]) {
  const latency = new LatencySketch();
  const errors = new ErrorCounts();
  for (const key of keys) {
    const q = new QuantileSketch(latency.k);
    q.update(1);
    latency.backends.set(key, q);
    errors.counts.set(key, 1);
  }
  const base = makeReport(model, version, { start, tenure: keys.map((_, i) => i % 100) });
  return { ...base, latency: toBase64(latency.encode()), errors: toBase64(errors.encode()) };
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`);

describe("sketch key limit through the collector", () => {
  it("counts made-up backends and error codes under `other`, past the key limit too: the window stays readable and every count stays", async () => {
    const { model, version, token } = await liveModel("key-limit");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    // a report of as many keys as a sketch holds (none of them `other`), then reports of new keys
    const reports = [keyedReport(model, version, start, names("a", LIMITS.sketchKeys)), keyedReport(model, version, start, names("b", 10)), keyedReport(model, version, start, names("c", 3))];
    // one flush each: the stored row of the first is read back and merged into by the next
    for (const report of reports) {
      expect((await postReports(token, [report])).accepted).toEqual([report.id]);
      await flush(model);
    }
    const res = await call("GET", `/v1/stats?model=${model}&from=${start - 60_000}&to=${start + 60_000}`, { token: BOOTSTRAP });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as { reports: number; skipped: unknown; errors: Record<string, number>; latency: Record<string, { count: number }> };
    expect([stats.reports, stats.skipped]).toEqual([3, 0]);
    const calls = LIMITS.sketchKeys + 10 + 3;
    for (const counts of [stats.errors, Object.fromEntries(Object.entries(stats.latency).map(([k, v]) => [k, v.count]))]) expect(counts).toEqual({ other: calls });
  });

  it("keeps honest backends and error codes apart however many made-up ones a sender filed first", async () => {
    const { model, version, token } = await liveModel("key-limit");
    // the start of a window: a sender may file reports for any window up to a day ahead, before anyone else
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    // one client: one aggregator shard (a sender picks client ids that reach every shard)
    const junk = { ...keyedReport(model, version, start, names("junk", LIMITS.sketchKeys)), client: "page" };
    const honest = makeReport(model, version, { client: "page", start, backend: "wasm", errors: { network: 2 } });
    for (const report of [junk, honest]) {
      expect((await postReports(token, [report])).accepted).toEqual([report.id]);
      await flush(model);
    }
    const res = await call("GET", `/v1/stats?model=${model}&from=${start - 60_000}&to=${start + 60_000}`, { token: BOOTSTRAP });
    const stats = (await res.json()) as { errors: Record<string, number>; latency: Record<string, { count: number }> };
    expect([stats.latency.wasm?.count, stats.errors.network]).toEqual([3, 2]);
  });
});
