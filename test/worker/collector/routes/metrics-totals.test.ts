import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker, { app } from "../../../../collector/index.ts";
import { PAGE_BYTES } from "../../../../collector/aggregates/store.ts";
import { shardCount } from "../../../../collector/config.ts";
import type { ModelAggregator } from "../../../../collector/ingest/model-aggregator.ts";
import { aggregator, shardOf } from "../../../../collector/ingest/routing.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP } from "../../registry-helpers.ts";

/** The counters of one model's version 1, live, in a /metrics answer. */
function counters(text: string, model: string) {
  const labels = `model="${model}",app="default",version="1",role="live"`;
  const value = (family: string, extra = "") => Number(text.match(new RegExp(`^${family}\\{${labels}${extra}\\} (\\d+)$`, "m"))?.[1] ?? Number.NaN);
  return { reports: value("driftline_reports_total"), rows: value("driftline_rows_total"), validation: value("driftline_errors_total", ',code="validation"') };
}

/** `GET /metrics` with the bootstrap key over `db`. */
async function scrape(db: D1Database): Promise<string> {
  const res = await app.fetch(new Request("http://collector/metrics", { headers: { Authorization: `Bearer ${BOOTSTRAP}` } }), { ...env, DB: db });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.text();
}

/**
 * The real D1 database, except that the `at`-th statement (1-based) that reads the aggregates or
 * the totals of `model` first waits for `meanwhile` to run: what an aggregator's alarm may do
 * between two statements of a read. `fired()` tells whether the read got that far.
 */
function interleavedD1(real: D1Database, model: string, at: number, meanwhile: () => Promise<void>) {
  let seen = 0;
  const forward = <T extends object>(target: T, prop: string | symbol) => {
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  const waiting = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop !== "all" && prop !== "raw" && prop !== "first") return forward(target, prop);
        return async (...args: unknown[]) => {
          await meanwhile();
          return (Reflect.get(target, prop) as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const db = new Proxy(real, {
    get: (target, prop) =>
      prop === "prepare"
        ? (query: string) =>
            new Proxy(target.prepare(query), {
              get(statement, key) {
                if (key !== "bind") return forward(statement, key);
                return (...params: unknown[]) => {
                  const bound = statement.bind(...params);
                  const reads = /^select .* from "(aggregates|report_totals)"/s.test(query) && params.includes(model);
                  return reads && ++seen === at ? waiting(bound) : bound;
                };
              },
            })
        : forward(target, prop),
  });
  return { db, fired: () => seen >= at };
}

/**
 * A model with a day row and an unrolled hour row of today's traffic, one shard, and before them
 * (in key order) day rows of old days whose stored text fills a page of a paged read up to the
 * day row: the hour row starts the next page.
 */
async function pagedModel(prefix: string) {
  const { model, key, version, token } = await liveModel(prefix);
  const client = `${prefix}-client`;
  const now = Date.now();
  // one report over three hours, filed in its day row; one of a minute, in minute and hour rows
  const long = makeReport(model, version, { client, start: now - 90 * 60_000 });
  const short = makeReport(model, version, { client, start: Math.floor(now / 60_000) * 60_000 - 2 * 60_000, errors: { validation: 2 } });
  expect((await postReports(token, [{ ...long, end: long.start + 3 * 3_600_000 }, short])).accepted).toHaveLength(2);
  await flush(model);
  const shard = shardOf(client, shardCount(env));
  const sizes = await env.DB.prepare("select granularity, length(data) as bytes from aggregates where model = ? and segment = '' and granularity <> 'minute'")
    .bind(key)
    .all<{ granularity: string; bytes: number }>();
  const bytes = Object.fromEntries(sizes.results.map((r) => [r.granularity, r.bytes]));
  expect(Object.keys(bytes).sort()).toEqual(["day", "hour"]);
  let pad = PAGE_BYTES - bytes.day! - Math.floor(bytes.hour! / 2);
  for (let day = 0; pad > 0; day++) {
    const text = "x".repeat(Math.min(pad, 1_000_000));
    await env.DB.prepare(
      "insert into aggregates (model, granularity, window_start, version, role, segment, shard, reports, rows, errors, data, rolled, updated_at) values (?, 'day', ?, ?, 'live', '', ?, 0, 0, 0, ?, 1, 0)",
    )
      .bind(key, day * 86_400_000, version, shard, text)
      .run();
    pad -= text.length;
  }
  return { model, key, stub: aggregator(env, key, shard) };
}

afterEach(() => void vi.useRealTimers());

describe("GET /metrics counters", () => {
  it("never go down when an hour rolls into its day between two statements of the read", async () => {
    let at = 1;
    for (;;) {
      const { model, key, stub } = await pagedModel(`totals${at}`);
      const exact = { reports: 2, rows: 6, validation: 2 };
      expect(counters(await scrape(env.DB), model)).toEqual(exact);
      // three hours on the hour is due: the aggregator's next flush rolls it into its day row
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 3 * 3_600_000);
      const rollUp = async () => {
        await runInDurableObject(stub, (instance: ModelAggregator) => instance.flush());
        const unrolled = await env.DB.prepare("select count(*) as n from aggregates where model = ? and rolled = 0").bind(key).first<{ n: number }>();
        expect(unrolled!.n).toBe(0);
      };
      const d1 = interleavedD1(env.DB, key, at, rollUp);
      expect(counters(await scrape(d1.db), model), `roll-up before read statement ${at}`).toEqual(exact);
      expect(counters(await scrape(env.DB), model)).toEqual(exact);
      vi.useRealTimers();
      await env.DB.prepare("delete from aggregates where model = ? and updated_at = 0").bind(key).run();
      if (!d1.fired()) break;
      at++;
    }
    expect(at).toBeGreaterThan(1);
  });

  it("count the rows stored before report_totals existed once the cron has counted them (left out until then), then what flushes add", async () => {
    const { model, key, version, token } = await liveModel("totals-old");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
    // clients on every shard; one report over three hours, filed in its day row
    const reports = Array.from({ length: 6 }, (_, i) => makeReport(model, version, { client: `old-${i}`, start, errors: { validation: i } }));
    const long = makeReport(model, version, { client: "old-long", start: Date.now() - 90 * 60_000, errors: { session: 1 } });
    expect((await postReports(token, [...reports, { ...long, end: long.start + 3 * 3_600_000 }])).accepted).toHaveLength(7);
    await flush(model);
    const exact = { reports: 7, rows: 21, validation: 15 };
    expect(counters(await scrape(env.DB), model)).toEqual(exact);
    // as migration 0018 leaves a database of the collector before it: no totals, no object counted,
    // and the aggregator objects restarted with the new code
    await env.DB.batch([env.DB.prepare("delete from report_totals where model = ?").bind(key), env.DB.prepare("update aggregate_flushes set totals = 0 where model = ?").bind(key)]);
    const objects = await env.DB.prepare("select object from aggregate_flushes where model = ?").bind(key).all<{ object: string }>();
    expect(objects.results.length).toBeGreaterThan(1);
    for (const { object } of objects.results) {
      const stub = aggregator(env, key, Number(object.split(":").at(-1)));
      await runInDurableObject(stub, (instance: ModelAggregator) => void Object.assign(instance, { counted: false }));
    }
    // until the cron has counted them, the model's counters are left out rather than shown short
    expect(counters(await scrape(env.DB), model)).toEqual({ reports: Number.NaN, rows: Number.NaN, validation: Number.NaN });
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
    const text = await scrape(env.DB);
    expect(counters(text, model)).toEqual(exact);
    expect(text).toContain(`driftline_errors_total{model="${model}",app="default",version="1",role="live",code="session"} 1\n`);
    expect(await scrape(env.DB)).toBe(text);
    const counted = await env.DB.prepare("select count(*) as n from aggregate_flushes where model = ? and totals = 1").bind(key).first<{ n: number }>();
    expect(counted!.n).toBe(objects.results.length);
    // a flush after adds its own reports only
    expect((await postReports(token, [makeReport(model, version, { client: "old-0", start, errors: { validation: 1 } })])).accepted).toHaveLength(1);
    await flush(model);
    expect(counters(await scrape(env.DB), model)).toEqual({ reports: 8, rows: 24, validation: 16 });
  });
});
