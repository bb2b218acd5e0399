import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../../protocol/limits.ts";
import { Writer } from "../../../../protocol/sketch/codec.ts";
import { CategoricalSketch, ClassificationSketch, ConfusionMatrix, LatencySketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { addProbabilities } from "../../../../protocol/sketch/prediction.ts";
import { shardOf } from "../../../../collector/ingest/routing.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { call, createKey } from "../../registry-helpers.ts";

/** A numeric sketch of the tenure feature (range 0..120) that claims 2^53 − 1 missing values. */
function hugeMissing(): string {
  const s = new NumericSketch({ range: { min: 0, max: 120 } });
  s.missing = Number.MAX_SAFE_INTEGER;
  return toBase64(s.encode());
}

/** A tenure sketch holding one value at KLL level `level`: it weighs 2^level. */
function highLevelItem(level: number): string {
  const w = new Writer();
  w.varint(2); // TAG.numeric
  w.varint(1); // format
  w.varint(1); // has range
  w.f64(0);
  w.f64(120);
  [0, 0, 0].forEach((n) => w.varint(n)); // missing, non-finite, out of range
  w.f64(42); // mean
  w.f64(0); // m2
  w.varint(200); // k
  w.varint(level + 1); // height
  for (let h = 0; h <= level; h++) w.varint(h === level ? 1 * 3 : 0 * 3 + 2);
  w.f64(42); // min
  w.f64(42); // max
  w.varint(0xc2280000 - 0); // the float32 order key of 42, as the first delta
  return toBase64(w.bytes());
}

async function readAnswers(model: string, version: number) {
  const { token } = await createKey("default", "read");
  const drift = await call("GET", `/v1/drift?model=${model}&version=${version}&from=0`, { token });
  const metrics = await call("GET", "/metrics", { token });
  return { drift, metrics };
}

/**
 * A live model whose minute window two minutes back holds 3 honest reports of 2 rows, and a
 * sender on the honest client's aggregator shard.
 *
 * @param name - the model's name
 */
async function honestWindow(name: string) {
  const { model, version, token } = await liveModel(name);
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  const honest = "honest-client";
  const sender = Array.from({ length: 100 }, (_, i) => `sender-${i}`).find((c) => shardOf(c, 3) === shardOf(honest, 3))!;
  const answer = await postReports(
    token,
    [1, 2, 3].map((i) => makeReport(model, version, { start, client: honest, tenure: [i, i + 1] })),
  );
  expect(answer.accepted).toHaveLength(3);
  return { model, version, token, start, honest, sender };
}

/**
 * Flushes the window of {@link honestWindow}, adds one more honest report of 1 row and flushes
 * again (a flush that meets an undecodable stored row quarantines the window).
 *
 * @param w - the window and its honest client
 * @returns the rows `/v1/drift` counts and the stored rows it skipped
 */
async function readableAfterOneMore(w: { model: string; version: number; token: string; start: number; honest: string }): Promise<[number, number]> {
  await flush(w.model);
  await postReports(w.token, [makeReport(w.model, w.version, { start: w.start, client: w.honest, tenure: [5] })]);
  await flush(w.model);
  const { drift } = await readAnswers(w.model, w.version);
  const body = (await drift.json()) as { count: number; skipped: number };
  return [body.count, body.skipped];
}

describe("hostile sketch counts", () => {
  it("refuses reports whose counts would overflow when merged, and keeps counting honest ones exactly", async () => {
    const { model, version, token } = await liveModel("overflow");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const attacks = [
      { ...makeReport(model, version, { start }), features: { ...makeReport(model, version).features, tenure: hugeMissing() } },
      { ...makeReport(model, version, { start }), features: { ...makeReport(model, version).features, tenure: hugeMissing() } },
      { ...makeReport(model, version, { start }), features: { ...makeReport(model, version).features, tenure: highLevelItem(52) } },
      { ...makeReport(model, version, { start }), features: { ...makeReport(model, version).features, tenure: highLevelItem(52) } },
    ];
    const answer = await postReports(token, attacks);
    expect(answer.accepted).toEqual([]);
    expect(answer.rejected.map((r) => r.code)).toEqual(["limit_exceeded", "limit_exceeded", "limit_exceeded", "limit_exceeded"]);
    expect(answer.rejected[0]!.message).toMatch(/features\.tenure: 9007199254740991 values, more than its rows \(3\)/);
    const honest = [1, 2, 3].map((i) => makeReport(model, version, { start, tenure: [i, i + 1] }));
    expect((await postReports(token, honest)).accepted).toHaveLength(3);
    await flush(model);
    const { drift, metrics } = await readAnswers(model, version);
    expect(drift.status).toBe(200);
    const body = (await drift.json()) as { count: number; features: { tenure: { count: number } } };
    expect(body.count).toBe(6);
    expect(body.features.tenure.count).toBe(6);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(`driftline_reports_total{model="${model}",app="default",version="${version}",role="live"} 3\n`);
  });

  it("refuses a report whose sketches claim more values than its rows", async () => {
    const { model, version, token } = await liveModel("weight");
    const base = makeReport(model, version, { tenure: [1, 2, 3, 4, 5] });
    const lying = { ...base, id: `${base.id}-lie`, rows: 2 };
    const levelled = { ...makeReport(model, version), features: { ...base.features, tenure: highLevelItem(30) } };
    const answer = await postReports(token, [lying, levelled]);
    expect(answer.rejected.map((r) => [r.code, r.message.split(":")[0]])).toEqual([
      ["limit_exceeded", "features.tenure"],
      ["limit_exceeded", "features.tenure"],
    ]);
  });

  it("refuses a report with another kind of sketch in its errors slot, and takes the rest of its batch", async () => {
    // found by test/worker/collector/ingest/ingest-fuzz.test.ts: the latency allowance read the error counts
    // before the slot's type was checked, so these threw in the aggregator and the batch got 503
    const { model, version, token } = await liveModel("errors-slot");
    const wrong = [new NumericSketch(), new LatencySketch(), new ConfusionMatrix(["no", "yes"])].map((s) => ({ ...makeReport(model, version), errors: toBase64(s.encode()) }));
    const honest = makeReport(model, version);
    const answer = await postReports(token, [...wrong, honest]);
    expect(answer.rejected.map((r) => [r.code, r.message])).toEqual(wrong.map(() => ["sketch_mismatch", "errors: expected error counts"]));
    expect(answer.accepted).toEqual([honest.id]);
  });

  it("keeps a window readable whatever moments one sender's numeric sketches claim", async () => {
    // each sketch alone decodes (finite mean and M2), but two of them merged overflowed to
    // Infinity: the stored window no longer decoded, /v1/drift skipped it and the next flush
    // quarantined it with every honest report in it
    const { model, version, token, start, honest: client } = await honestWindow("moments");
    const moments = (mean: number, m2: number) => {
      const s = new NumericSketch({ range: { min: 0, max: 120 } });
      s.update(42);
      return toBase64(Object.assign(s, { mean, m2 }).encode());
    };
    const claims = [moments(42, 1e308), moments(42, 1e308), moments(1e308, 0), moments(-1e308, 0)];
    const attacks = claims.map((tenure) => {
      const r = makeReport(model, version, { start, client });
      return { ...r, features: { ...r.features, tenure } };
    });
    const answer = await postReports(token, attacks);
    await flush(model);
    await postReports(token, [makeReport(model, version, { start, client, tenure: [5] })]);
    await flush(model);
    const { drift } = await readAnswers(model, version);
    const body = (await drift.json()) as { count: number; skipped: number; features: { tenure: { count: number } } };
    // the honest 3 reports of 2 rows and the later one of 1: nothing skipped, nothing lost
    expect([body.count, body.skipped, body.features.tenure.count]).toEqual([7, 0, 7]);
    expect(answer.rejected.map((r) => r.code)).toEqual(["limit_exceeded", "limit_exceeded", "limit_exceeded", "limit_exceeded"]);
    expect(answer.rejected[0]!.message).toMatch(/^features\.tenure: /);
  });

  it("keeps a window readable when a sender's categorical sketch is scaled past its budget", async () => {
    // scaled by 1/2, four heavy hitters seen once each rounded to 1 each and their 4 unseen values
    // to 2: more heavy-hitter counts than unseen values, which no stored window may hold
    const { model, version, token, start, honest, sender } = await honestWindow("scaled-heavy");
    const bare = (rows: number, features: Record<string, string>) => {
      const { prediction: _p, latency: _l, ...r } = makeReport(model, version, { start, client: sender });
      return { ...r, rows, features };
    };
    const tenure = new NumericSketch({ range: { min: 0, max: 120 } });
    for (let i = 0; i < 998; i++) tenure.update(i % 120);
    const plan = new CategoricalSketch(["basic", "pro"]);
    for (const unseen of ["w", "x", "y", "z"]) plan.update(unseen);
    // 998 of its 1,000 a minute, then a report of weight 4: scaled by 2 / 4
    const answer = await postReports(token, [bare(998, { tenure: toBase64(tenure.encode()) }), bare(4, { plan: toBase64(plan.encode()) })]);
    expect(answer.accepted).toHaveLength(2);
    expect(await readableAfterOneMore({ model, version, token, start, honest })).toEqual([6 + 998 + 4 + 1, 0]);
  });

  it("keeps a window readable when a sender's prediction sketch is scaled past its budget", async () => {
    // scaled by 2/5, two predictions of one class each rounded to none and their two entropies to
    // one: more entropies than predictions, which no stored window may hold
    const { model, version, token, start, honest, sender } = await honestWindow("scaled-entropy");
    const tenure = (n: number) => {
      const s = new NumericSketch({ range: { min: 0, max: 120 } });
      for (let i = 0; i < n; i++) s.update(i % 120);
      return toBase64(s.encode());
    };
    const prediction = new ClassificationSketch(["no", "yes"]);
    addProbabilities(prediction, [0.7, 0.3]);
    addProbabilities(prediction, [0.2, 0.8]);
    const { prediction: _p, latency: _l, ...bare } = makeReport(model, version, { start, client: sender });
    // 998 of its 1,000 a minute, then a report of weight 5: scaled by 2 / 5
    const answer = await postReports(token, [
      { ...bare, id: `${bare.id}-a`, rows: 998, features: { tenure: tenure(998) } },
      { ...bare, id: `${bare.id}-b`, rows: 5, features: { tenure: tenure(5) }, prediction: toBase64(prediction.encode()) },
    ]);
    expect(answer.accepted).toHaveLength(2);
    expect(await readableAfterOneMore({ model, version, token, start, honest })).toEqual([6 + 998 + 5 + 1, 0]);
  });

  it("caps the rows a report may claim", async () => {
    const { model, version, token } = await liveModel("rows-cap");
    const answer = await postReports(token, [
      { ...makeReport(model, version), rows: 1e15 },
      { ...makeReport(model, version), rows: LIMITS.reportRows + 1 },
    ]);
    expect(answer.accepted).toEqual([]);
    expect(answer.rejected.map((r) => r.message)).toEqual([expect.stringMatching(/rows/), expect.stringMatching(/rows/)]);
  });
});
