import { describe, expect, it } from "vitest";
import type { Manifest } from "../../../../protocol/schema/manifest.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, NumericSketch, fromBase64, decodeCategorical, decodeNumeric } from "../../../../protocol/sketch/index.ts";
import { type DriftResult, computeDrift } from "../../../../collector/drift/index.ts";
import type { FeatureSketch } from "../../../../protocol/sketch/index.ts";
import { flush, normal, postReports, publishManifest, rng, sketchReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, twoFeatureManifest, unique } from "../../registry-helpers.ts";

const CATEGORIES = ["a", "b", "c"];
const REFERENCE_ROWS = 2000;

function pickCategory(r: () => number, p: number[]): string {
  const u = r();
  return u < p[0]! ? "a" : u < p[0]! + p[1]! ? "b" : "c";
}

/** Reference: x ~ N(0, 1), c with shares .5/.3/.2, prediction ~ N(0.5, 0.1). */
function manifest(model: string, sha256: string, size: number): Manifest {
  const r = rng(7);
  const x = new NumericSketch();
  const c = new CategoricalSketch(CATEGORIES);
  const p = new NumericSketch();
  for (let i = 0; i < REFERENCE_ROWS; i++) {
    x.update(normal(r));
    c.update(pickCategory(r, [0.5, 0.3, 0.2]));
    p.update(0.5 + 0.1 * normal(r));
  }
  return twoFeatureManifest({ model, sha256, size }, { name: "x", sketch: x }, { name: "c", sketch: c }, { rows: REFERENCE_ROWS, prediction: p });
}

/** A report of 50 rows; `shifted` moves x by one std and changes the category shares. */
function report(model: string, version: number, i: number, backend: string, shifted: boolean, start: number): Report {
  const r = rng(1000 + i);
  const x = new NumericSketch();
  const c = new CategoricalSketch(CATEGORIES);
  const p = new NumericSketch();
  for (let j = 0; j < 50; j++) {
    x.update(normal(r) + (shifted ? 1 : 0));
    c.update(pickCategory(r, shifted ? [0.2, 0.3, 0.5] : [0.5, 0.3, 0.2]));
    p.update(0.5 + 0.1 * normal(r));
  }
  return sketchReport(model, version, i, { start, segment: { backend, appVersion: i % 2 ? "4.2" : "4.3" }, rows: 50, features: { x, c }, prediction: p });
}

/** Drift computed in the test from the same report sketches, merged directly. */
function expectedDrift(reports: Report[]): DriftResult {
  const ref = manifest("m", "0".repeat(64), 1).profile;
  const decode = (b64: string) => {
    const bytes = fromBase64(b64);
    return bytes[0] === 2 ? decodeNumeric(bytes) : decodeCategorical(bytes);
  };
  const merged = new Map<string, FeatureSketch>();
  let prediction: NumericSketch | undefined;
  for (const rep of reports) {
    for (const [name, b64] of Object.entries(rep.features)) {
      const s = decode(b64);
      const mine = merged.get(name);
      if (mine) (mine as { merge(o: unknown): unknown }).merge(s);
      else merged.set(name, s);
    }
    const p = decodeNumeric(fromBase64(rep.prediction!));
    prediction = prediction ? prediction.merge(p) : p;
  }
  const reference = {
    rows: ref.rows,
    features: new Map(Object.entries(ref.features).map(([k, v]) => [k, decode(v.sketch)])),
    prediction: decodeNumeric(fromBase64(ref.prediction!.sketch)),
  };
  return computeDrift(reference, { features: merged, prediction });
}

interface DriftAnswer extends DriftResult {
  model: string;
  version: number;
  from: string;
  to: string;
  count: number;
}

describe("GET /v1/drift", async () => {
  const model = unique("drift");
  const version = await publishManifest(model, (sha, size) => manifest(model, sha, size));
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const reports = Array.from({ length: 40 }, (_, i) => report(model, version, i, i < 20 ? "wasm" : "webgpu", i >= 20, minute - (i % 2 ? 60_000 : 120_000)));
  const answer = await postReports(ingest, reports);
  expect(answer.accepted).toHaveLength(40);
  await flush(model);
  const from = minute - 180_000;
  const to = minute + 60_000;

  async function get(query: string): Promise<DriftAnswer> {
    const res = await call("GET", `/v1/drift?model=${model}&${query}`, { token: read });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as DriftAnswer;
  }

  function expectClose(got: DriftAnswer, want: DriftResult) {
    for (const [name, f] of Object.entries(want.features)) {
      const g = got.features[name]!;
      expect({ name, count: g.count, test: g.test, drifted: g.drifted }).toEqual({ name, count: f.count, test: f.test, drifted: f.drifted });
      for (const metric of ["ks", "psi", "js", "wasserstein_normed", "unseen_share"] as const) {
        const w = f.metrics[metric];
        if (w === undefined || w === null) expect(g.metrics[metric] ?? null).toBeNull();
        else expect(Math.abs(g.metrics[metric]! - w), `${name}.${metric}`).toBeLessThanOrEqual(0.02);
      }
    }
    expect(got.dataset).toEqual(want.dataset);
    expect(got.prediction?.count).toBe(want.prediction?.count);
  }

  it("answers the documented response shape (docs/drift.md) for the whole range", async () => {
    const all = await get(`version=${version}&from=${from}&to=${to}`);
    expect(all).toMatchObject({ model, version, from: new Date(from).toISOString(), to: new Date(to).toISOString(), count: 2000 });
    expect(Object.keys(all).sort()).toEqual(["count", "dataset", "embedding", "entropy", "features", "from", "model", "prediction", "skipped", "to", "version"]);
    expect(all.embedding).toBeNull();
    expect(all.features.x).toMatchObject({ kind: "numeric", count: 2000, test: "wasserstein", metrics: { ks: expect.any(Number), ks_pvalue: expect.any(Number), chi2_pvalue: expect.any(Number) } });
    expect(all.features.c).toMatchObject({ kind: "categorical", test: "js", metrics: { ks: null, unseen_share: 0 } });
    expect(all.prediction).toMatchObject({ kind: "regression", count: 2000, drifted: false });
    expectClose(all, expectedDrift(reports));
  });

  it("slices by segment: one pair, two pairs, and the default version", async () => {
    const webgpu = await get(`from=${from}&to=${to}&segment=backend:webgpu`);
    expectClose(webgpu, expectedDrift(reports.slice(20)));
    expect(webgpu.dataset).toEqual({ drifted_share: 1, drifted: true });
    const wasm = await get(`from=${from}&to=${to}&segment=backend:wasm`);
    expect(wasm.dataset.drifted).toBe(false);
    const both = await get(`from=${from}&to=${to}&segment=appVersion:4.2,backend:webgpu`);
    expectClose(both, expectedDrift(reports.filter((r, i) => i >= 20 && r.segment.appVersion === "4.2")));
    const none = await get(`from=${from}&to=${to}&segment=backend:cpu`);
    expect(none).toMatchObject({ count: 0, dataset: { drifted_share: 0, drifted: false } });
  });

  it("reads one minute or rounds out to hours", async () => {
    const oneMinute = await get(`from=${minute - 60_000}&to=${minute}`);
    expect(oneMinute.count).toBe(1000);
    const hourly = await get(`from=${minute - 60_000}&to=${minute}&window=hour`);
    const hour = Math.floor((minute - 60_000) / 3_600_000);
    expect(hourly.count).toBe(50 * reports.filter((r) => Math.floor(r.start / 3_600_000) === hour).length);
    expect(Date.parse(hourly.from) % 3_600_000).toBe(0);
  });

  it("answers a series: each window as its own GET /v1/drift answers it, in one request", async () => {
    const hour = Math.floor(minute / 3_600_000) * 3_600_000;
    for (const [query, step, start, end] of [
      ["", 60_000, from, to],
      ["&segment=backend:webgpu", 60_000, from, to],
      ["&segment=appVersion:4.2", 300_000, hour - 3_600_000, hour + 3_600_000],
      ["&window=hour", 1_800_000, hour - 3_600_000, hour + 3_600_000],
    ] as const) {
      const res = await call("GET", `/v1/drift/series?model=${model}&version=${version}&from=${start}&to=${end}&step=${step}${query}`, { token: read });
      expect(res.status, await res.clone().text()).toBe(200);
      const series = (await res.json()) as { model: string; version: number; windows: Omit<DriftAnswer, "model" | "version">[] };
      expect(series.windows).toHaveLength((end - start) / step);
      const one = await Promise.all(series.windows.map((_, i) => get(`version=${version}&from=${start + i * step}&to=${start + (i + 1) * step}${query}`)));
      expect(series).toEqual({ model, version, windows: one.map(({ model: _m, version: _v, ...w }) => w) });
      expect(
        series.windows.reduce((n, w) => n + w.count, 0),
        query,
      ).toBeGreaterThan(0);
    }
  });

  it("refuses a series of more than 40 windows, a step under a minute, or none", async () => {
    const series = (q: string) => call("GET", `/v1/drift/series?model=${model}&${q}`, { token: read });
    expect(await expectError(await series(`from=0&to=${41 * 60_000}&step=60000`), 400, "validation")).toBe("step: 41 windows between from and to, at most 40");
    expect((await series(`from=0&to=${40 * 60_000}&step=60000`)).status).toBe(200);
    await expectError(await series(`from=0&to=${60_000}&step=59999`), 400, "validation");
    await expectError(await series(`from=0&to=${60_000}`), 400, "validation");
    expect(await expectError(await series("step=60000"), 400, "validation")).toMatch(/^step/);
  });

  it("answers bad queries with coded errors", async () => {
    await expectError(await call("GET", `/v1/drift?model=${model}&segment=backend`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&from=yesterday`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&from=20&to=10`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&to=999999999999999`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&from=1969-01-01T00:00:00Z`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&version=1e400`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&window=week`, { token: read }), 400, "validation");
    await expectError(await call("GET", `/v1/drift?model=${model}&version=99`, { token: read }), 404, "not_found");
    await expectError(await call("GET", `/v1/drift?model=${unique("none")}`, { token: BOOTSTRAP }), 404, "not_found");
    expect(await expectError(await call("GET", `/v1/drift?model=${model}`, { token: ingest }), 403, "forbidden")).toBe("this route needs a read key; this is an ingest key");
  });
});
