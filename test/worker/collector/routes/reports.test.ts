import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { LIMITS } from "../../../../protocol/limits.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, ErrorCounts, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { Aggregate } from "../../../../collector/aggregates/aggregate.ts";
import { unpackAggregate } from "../../../../collector/aggregates/stored-aggregate.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { flush, liveModel, makeReport, postReports, TOTALS_BY_GRANULARITY } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, unique } from "../../registry-helpers.ts";

/** The merged unsliced minute aggregate of a model version, read straight from D1 over all shards. */
async function minuteTotal(key: string, version: number): Promise<Aggregate> {
  const rows = await env.DB.prepare("select data from aggregates where model = ? and version = ? and granularity = 'minute' and segment = ''").bind(key, version).all<{ data: string }>();
  const decoded = await Promise.all(rows.results.map((r) => unpackAggregate(r.data)));
  return decoded.reduce((a, d) => a.absorb(d), new Aggregate());
}

describe("POST /v1/reports", () => {
  it("merges 200 concurrent reports into one window with exact counts", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
    const reports = Array.from({ length: 200 }, (_, i) =>
      makeReport(model, version, { client: `c-${i}`, start, tenure: [i % 120, (i * 7) % 120], plan: [i % 3 ? "basic" : "pro", null], errors: i % 10 === 0 ? { validation: 2 } : {} }),
    );
    const answers = await Promise.all(reports.map((r) => postReports(token, [r])));
    expect(answers.flatMap((a) => a.accepted).sort()).toEqual(reports.map((r) => r.id).sort());
    await flush(model);

    const total = await minuteTotal(key, version);
    expect(total.reports).toBe(200);
    expect(total.rows).toBe(400);
    const tenure = total.features.get("tenure") as NumericSketch;
    expect(tenure.count).toBe(400);
    expect(tenure.mean).toBeCloseTo(reports.reduce((s, _, i) => s + (i % 120) + ((i * 7) % 120), 0) / 400, 9);
    const plan = total.features.get("plan") as CategoricalSketch;
    expect(plan.missing).toBe(200);
    expect(plan.counts[1]).toBe(reports.filter((_, i) => i % 3 === 0).length);
    expect(total.errors?.counts.get("validation")).toBe(40);
    expect(total.latency?.backends.get("wasm")?.n).toBe(400);

    // the hour and day rows hold the same totals (a day: its day row and its hours not yet rolled into it)
    const rolled = await env.DB.prepare(TOTALS_BY_GRANULARITY).bind(key, key).all<{ granularity: string; reports: number }>();
    expect(Object.fromEntries(rolled.results.map((r) => [r.granularity, r.reports]))).toEqual({ minute: 200, hour: 200, day: 200 });
  });

  it("counts the rows of a report split by features once, and caps each part's sketches at its rows", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
    const whole = makeReport(model, version, { start, tenure: [10, 20, 30], plan: ["basic", "pro", null], errors: { dropped: 4 } });
    const { prediction, latency, errors, ...head } = whole;
    const first = { ...whole, features: { tenure: whole.features.tenure! } };
    const second = { ...head, id: `${whole.id}-1`, part: 1, features: { plan: whole.features.plan! } };
    // a continuation claims the rows of its report: its sketches may not hold more
    const heavy = { ...head, id: `${whole.id}-2`, part: 2, rows: 2, features: { plan: whole.features.plan! } };
    const answer = await postReports(token, [first, second, heavy]);
    expect(answer.accepted).toEqual([first.id, second.id]);
    expect(answer.rejected.map((r) => [r.id, r.code])).toEqual([[heavy.id, "limit_exceeded"]]);
    await flush(model);
    const total = await minuteTotal(key, version);
    expect([total.reports, total.rows]).toEqual([2, 3]);
    expect((total.features.get("tenure") as NumericSketch).count).toBe(3);
    expect((total.features.get("plan") as CategoricalSketch).missing).toBe(1);
    expect(total.errors?.counts.get("dropped")).toBe(4);
    // rows a client dropped from its queue are not errors of the model
    const stats = (await (await call("GET", `/v1/stats?model=${model}&version=${version}&from=${start - 60_000}&to=${start + 120_000}`, { token: BOOTSTRAP })).json()) as {
      errors: Record<string, number>;
      error_rate: number;
    };
    expect(stats.errors).toEqual({ dropped: 4 });
    expect(stats.error_rate).toBe(0);
  });

  it("counts a retried batch once and answers with the client's assignment", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const batch = [makeReport(model, version, { client: "c-1" }), makeReport(model, version, { client: "c-2" })];
    const first = await postReports(token, batch);
    const again = await postReports(token, batch);
    expect(first.accepted).toHaveLength(2);
    expect(again).toMatchObject({ accepted: [], duplicates: batch.map((r) => r.id), rejected: [] });
    expect(first.assignment).toMatchObject({ model, version, role: "stable", configVersion: expect.any(Number) });
    await flush(model);
    expect((await minuteTotal(key, version)).reports).toBe(2);
    const stats = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
    const counters = (await stats.json()) as { shards: unknown[]; total: Record<string, number> };
    expect(counters.shards).toHaveLength(3);
    expect(counters.total).toMatchObject({ accepted: 2, duplicates: 2, pending: 0 });
  });

  it("refuses bad reports with codes and accepts the rest of the batch", async () => {
    const { model, version, token } = await liveModel("ingest");
    const good = makeReport(model, version);
    const unknownFeature = makeReport(model, version);
    unknownFeature.features.colour = unknownFeature.features.plan!;
    const wrongRange = makeReport(model, version);
    wrongRange.features.tenure = toBase64(new NumericSketch({ range: { min: 0, max: 10 } }).encode());
    const wrongType = makeReport(model, version);
    wrongType.features.plan = wrongRange.features.tenure;
    const wrongCategories = makeReport(model, version);
    wrongCategories.features.plan = toBase64(new CategoricalSketch(["basic", "gold"]).encode());
    const noVersion = makeReport(model, version + 5);
    const garbage = { ...makeReport(model, version), features: { tenure: "AAAA" } };
    const invalid = { ...makeReport(model, version), rows: -1 };
    const otherModel = makeReport(unique("nope"), 1);
    const answer = await postReports(token, [good, unknownFeature, wrongRange, wrongType, wrongCategories, noVersion, garbage, invalid, otherModel]);
    expect(answer.accepted).toEqual([good.id]);
    const codes = Object.fromEntries(answer.rejected.map((r) => [r.id, r.code]));
    expect(codes).toEqual({
      [unknownFeature.id]: "unknown_feature",
      [wrongRange.id]: "sketch_mismatch",
      [wrongType.id]: "sketch_mismatch",
      [wrongCategories.id]: "sketch_mismatch",
      // a version that does not exist is assigned to nobody
      [noVersion.id]: "not_assigned",
      [garbage.id]: "decode",
      [invalid.id]: "validation",
      [otherModel.id]: "not_found",
    });
  });

  it("refuses a report from more than 2 days back or ending more than a day ahead, so no client stores windows retention never removes", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const now = Date.now();
    // a day row of 1970 (its midpoint), and one of a day in 2200: day rows are kept for ever
    const ancient = { ...makeReport(model, version, { start: 0 }), end: 3 * 3_600_000 };
    const farAhead = { ...makeReport(model, version, { start: now }), end: Date.UTC(2400, 0, 1) };
    const threeDaysBack = makeReport(model, version, { start: now - 3 * 86_400_000 });
    const oneDayBack = makeReport(model, version, { start: now - 86_400_000 });
    const answer = await postReports(token, [ancient, farAhead, threeDaysBack, oneDayBack]);
    expect(answer.accepted).toEqual([oneDayBack.id]);
    expect(answer.rejected.map((r) => [r.id, r.code])).toEqual([
      [ancient.id, "validation"],
      [farAhead.id, "validation"],
      [threeDaysBack.id, "validation"],
    ]);
    await flush(model);
    const old = await env.DB.prepare("select count(*) as n from aggregates where model = ? and (window_start < ? or window_start > ?)")
      .bind(key, now - 3 * 86_400_000, now + 86_400_000)
      .first<{ n: number }>();
    expect(old?.n).toBe(0);
  });

  it("counts the dropped rows of a runtime that comes back after days, in the day before they arrive", async () => {
    const { model, version, token } = await liveModel("ingest");
    const now = Date.now();
    // what the runtime sends for reports it dropped by age (docs/runtime.md "Dropped rows are
    // reported"): a carrier of their period, rows 0 and only error counts, never dropped itself
    const errors = new ErrorCounts();
    // more than a minute window's sender budget (1,000): a day window's holds them
    errors.update("dropped", 5_000);
    errors.update("session", 2);
    const start = now - 3 * 86_400_000;
    const carrier: Report = {
      id: `carrier-${now}`,
      model,
      version,
      role: "live",
      client: "away",
      start,
      end: start + 30_000,
      segment: {},
      rows: 0,
      sampleRate: 1,
      features: {},
      errors: toBase64(errors.encode()),
    };
    const answer = await postReports(token, [carrier]);
    expect(answer.rejected).toEqual([]);
    await flush(model);
    const res = await call("GET", `/v1/stats?model=${model}&from=${now - 2 * 86_400_000}&to=${Date.now() + 60_000}`, { token: BOOTSTRAP });
    // the session errors of three days back are not the last day's: only the dropped rows are kept
    expect(((await res.json()) as { errors: Record<string, number> }).errors).toEqual({ dropped: 5_000 });
  });

  it("counts a carrier's dropped rows once, also sent again weeks later, and those of a device away for more than a week", async () => {
    // the runtime keeps a carrier until it is answered, and one a beacon took as the page went is
    // never answered: the next page, opened any time later, sends it again (docs/runtime.md)
    const { model, key, version, token } = await liveModel("ingest");
    const now = Date.now();
    const carrierOf = (id: string, start: number, dropped: number): Report => {
      const errors = new ErrorCounts();
      errors.update("dropped", dropped);
      return { id, model, version, role: "live", client: "away", start, end: start + 30_000, segment: {}, rows: 0, sampleRate: 1, features: {}, errors: toBase64(errors.encode()) };
    };
    const beaconed = carrierOf(`beaconed-${now}`, now - 3 * 86_400_000, 5_000);
    expect((await postReports(token, [beaconed])).accepted).toEqual([beaconed.id]);
    await flush(model);
    const droppedSince = async (from: number) => {
      const res = await call("GET", `/v1/stats?model=${model}&from=${from}&to=${Date.now() + 60_000}`, { token: BOOTSTRAP });
      return ((await res.json()) as { errors: Record<string, number> }).errors;
    };
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // eight days later: the alarm forgets other reports' ids past a week, not a carrier's
      vi.setSystemTime(now + 8 * 86_400_000);
      await runDurableObjectAlarm(aggregator(env, key, shardOf("away", 3)));
      // a device away for ten days: the reports it dropped by age are carried from their period
      const away = carrierOf(`away-${now}`, now - 2 * 86_400_000, 700);
      const answer = await postReports(token, [beaconed, away]);
      await flush(model);
      expect([answer.duplicates, answer.accepted]).toEqual([[beaconed.id], [away.id]]);
      expect(await droppedSince(now - 5 * 86_400_000)).toEqual({ dropped: 5_700 });
      // past 34 days a carrier is refused by age: its id may be forgotten by then
      vi.setSystemTime(now + 40 * 86_400_000);
      await runDurableObjectAlarm(aggregator(env, key, shardOf("away", 3)));
      expect((await postReports(token, [beaconed])).rejected).toEqual([expect.objectContaining({ id: beaconed.id, code: "validation" })]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("spends a sender's budget of a window once, however far back the window is", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const client = "one-sender";
    const stub = aggregator(env, key, shardOf(client, 3));
    for (const daysBack of [1.5, 4]) {
      const start = Math.floor((Date.now() - daysBack * 86_400_000) / 60_000) * 60_000;
      // 1,500 values against the budget of 1,000 a minute window; the alarm between the two
      // reports forgets the budgets it keeps no longer
      await postReports(token, [makeReport(model, version, { client, start, tenure: Array.from({ length: 1_500 }, (_, i) => i % 120) })]);
      await runDurableObjectAlarm(stub);
      await postReports(token, [makeReport(model, version, { client, start, tenure: Array.from({ length: 1_500 }, (_, i) => i % 120) })]);
      await flush(model);
      const rows = await env.DB.prepare("select data from aggregates where model = ? and granularity = 'minute' and window_start = ? and segment = ''").bind(key, start).all<{ data: string }>();
      const counts = await Promise.all(rows.results.map(async (r) => ((await unpackAggregate(r.data)).features.get("tenure") as NumericSketch).count));
      expect(
        counts.reduce((n, c) => n + c, 0),
        `${daysBack} days back`,
      ).toBeLessThanOrEqual(1_000);
    }
  });

  it("answers whole-batch problems with the error envelope, never a 500", async () => {
    const { model, version, token } = await liveModel("ingest");
    const post = (body: BodyInit, headers: Record<string, string> = { "Content-Type": "application/json" }, key = token) => call("POST", "/v1/reports", { token: key, body, headers });
    await expectError(await post("{not json"), 400, "validation");
    await expectError(await post(JSON.stringify({ reports: [] })), 400, "validation");
    await expectError(await post(JSON.stringify([1, 2])), 400, "validation");
    await expectError(await post(JSON.stringify({ reports: Array(LIMITS.reportsPerBatch + 1).fill(makeReport(model, version)) })), 400, "limit_exceeded");
    await expectError(await post("x".repeat(LIMITS.batchBytes + 1)), 413, "payload_too_large");
    // text/plain is what sendBeacon sends (see reports-beacon.test.ts); other types are refused
    await expectError(await post("{}", { "Content-Type": "application/x-www-form-urlencoded" }), 415, "unsupported");
    await expectError(await call("POST", "/v1/reports", { json: { reports: [makeReport(model, version)] } }), 401, "unauthorized");
    const { token: read } = await createKey("default", "read");
    await expectError(await post(JSON.stringify({ reports: [makeReport(model, version)] }), undefined, read), 403, "forbidden");
  });

  it("writes D1 rows per flush, not per report: ≤ 0.01 rows per report at sustained load", async () => {
    const { model, key, version, token } = await liveModel("ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    let n = 0;
    const send = async (batches: number) => {
      for (let b = 0; b < batches; b++) {
        const reports = Array.from({ length: LIMITS.reportsPerBatch }, () => makeReport(model, version, { client: `c-${n++ % 60}`, start }));
        expect((await postReports(token, reports)).accepted).toHaveLength(reports.length);
      }
      await flush(model);
      const res = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
      return ((await res.json()) as { total: { accepted: number; rowsWritten: number } }).total;
    };
    // the first flush creates the window rows; later flushes of the same windows only update them
    const warm = await send(1);
    const load = await send(20);
    const rowsPerReport = (load.rowsWritten - warm.rowsWritten) / (load.accepted - warm.accepted);
    expect(load.accepted - warm.accepted).toBe(2000);
    expect(rowsPerReport).toBeGreaterThan(0);
    expect(rowsPerReport).toBeLessThanOrEqual(0.01);
    expect((await minuteTotal(key, version)).reports).toBe(2100);
  });

  it("refuses reports of another app's model", async () => {
    const { model, version } = await liveModel("ingest");
    const { token } = await createKey(unique("app"), "ingest");
    const answer = await postReports(token, [makeReport(model, version)]);
    expect(answer.rejected).toEqual([expect.objectContaining({ code: "not_found", message: `no model "${model}"` })]);
    expect(answer.assignment).toBeNull();
  });
});
