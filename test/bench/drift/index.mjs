// Drift bench (issue 12): the fleet's hour feed (test/bench/fleet/feed.ts: 200 numeric + 20
// categorical features, 1,000 clients, 15 segment combinations, one hour) goes into a local
// `wrangler dev` collector, and the day feed before it (5 reports a minute over the 23 hours
// that end where the hour's first clock hour starts), so a 24 h query reads a day of traffic.
// Then `GET /v1/drift` is timed for the hour, one segment, the last 10 minutes, `detail=bins`
// and 24 h, and Debian's numpy/scipy compute the same metrics from the raw rows of the same hour
// (test/bench/drift/raw_metrics.py), timed the same way. Prints one JSON object with the median
// and max of each, the ratio collector / raw, and how far the collector's metrics are from
// scipy's; and `heatmap24h`: the dashboard's 24 h drift heatmap as one `GET /v1/drift/series` of
// 24 hour windows against 24 `GET /v1/drift`, one per hour.
//
// The feed's reports each cover 5 minutes, so the collector files them by hour (docs/ingest.md
// "Windows and roll-up"): the hour, segment, bins and 24 h queries use `window=hour` (the range
// rounded out to the two clock hours the feed's hour touches, which hold exactly its reports:
// `count` equals the feed's rows); `hourMinuteTiling` is the hour with the default tiling (minute
// rows at ragged ends: it sees only the reports filed by minute, see `count`).
//
//   npm run bench -- drift [--runs 5] [--raw-runs 5] [--raw hour|all] [--senders 8] [--seconds 3600]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PYTHON, crashLines, flushAfterFeed, loadFeed, parseArgs, publishFleetModel, sendFeed, startBenchCollector } from "../fleet/harness.mjs";

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.runs ?? 5);
const RAW_RUNS = Number(args["raw-runs"] ?? 5);
const RAW = String(args.raw ?? "hour");
const SENDERS = Number(args.senders ?? 8);
/** Sending the feed stops after this many seconds (the queries then run on what went in). */
const SEND_SECONDS = Number(args.seconds ?? 3600);
const MODEL = "bench-drift";
const MINUTE = 60_000;
const root = new URL("../../..", import.meta.url).pathname;

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (/** @type {number} */ i) => s[i] ?? NaN;
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
const ms = (/** @type {number} */ x) => +x.toFixed(1);
const summary = (/** @type {number[]} */ msList) => ({ medianMs: ms(median(msList)), maxMs: ms(Math.max(...msList)), runsMs: msList.map(ms) });

const { buildFeed, SHIFTED_APP_VERSION, APP_VERSIONS } = await loadFeed();
const rawDir = mkdtempSync(join(tmpdir(), "driftline-bench-drift-rows-"));
process.stderr.write(`building the hour feed and its raw rows in ${rawDir} …\n`);
const feed = buildFeed({ name: "hour", model: MODEL, version: 1, now: Date.now(), batch: 12, tag: randomBytes(4).toString("hex"), rawDir });
const { from, to } = feed;
// the day feed ends where the hour's first clock hour starts, so none of its reports is filed in
// the hour's windows
const dayFeed = buildFeed({ name: "day", model: MODEL, version: 1, now: from - (from % (60 * MINUTE)) - 60 * MINUTE, batch: 12, tag: randomBytes(4).toString("hex") });

/** The timed queries: name, query string, and the raw rows that answer the same question. */
const queries = [
  { name: "hour", query: `from=${from}&to=${to}&window=hour`, raw: { from, to } },
  { name: "segment", query: `from=${from}&to=${to}&window=hour&segment=appVersion:${SHIFTED_APP_VERSION}`, raw: { from, to, appVersion: APP_VERSIONS.indexOf(SHIFTED_APP_VERSION) } },
  { name: "last10min", query: `from=${to - 10 * MINUTE}&to=${to}`, raw: { from: to - 10 * MINUTE, to } },
  { name: "bins", query: `from=${from}&to=${to}&window=hour&detail=bins`, raw: undefined },
  { name: "day", query: `from=${to - 24 * 60 * MINUTE}&to=${to}&window=hour`, raw: undefined },
  { name: "hourMinuteTiling", query: `from=${from}&to=${to}`, raw: undefined },
];

const c = await startBenchCollector("drift");
/** @type {Record<string, any>} */
const result = {
  bench: "drift",
  features: { numeric: 200, categorical: 20 },
  reports: feed.reports,
  rows: feed.rows,
  range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
  dayFeed: { reports: dayFeed.reports, rows: dayFeed.rows, range: { from: new Date(dayFeed.from).toISOString(), to: new Date(dayFeed.to).toISOString() } },
  dayQuery: "the 24 h ending with the hour, in hour windows: the hour feed and the day feed before it",
  loadAverage: { start: loadavg() },
};
try {
  const { ingestKey } = await publishFleetModel(c, feed);
  const sentDay = await sendFeed({ url: c.url, token: ingestKey, batches: dayFeed.batches, senders: SENDERS, seconds: SEND_SECONDS, retries: 3, requestTimeoutMs: 120_000, dead: c.down });
  result.dayFeed.accepted = sentDay.accepted;
  result.dayFeed.responsesAtLeast500 = sentDay.serverErrors;
  const sent = await sendFeed({ url: c.url, token: ingestKey, batches: feed.batches, senders: SENDERS, seconds: SEND_SECONDS, retries: 3, requestTimeoutMs: 120_000, dead: c.down });
  result.ingest = {
    complete: sent.accepted === feed.reports,
    seconds: sent.seconds,
    accepted: sent.accepted,
    responsesAtLeast500: sent.serverErrors,
    reportsNotTaken: sent.reportsNotTaken,
    batchesNotSent: sent.batchesTotal - sent.batchesSent,
    stoppedEarly: sent.stoppedEarly,
    crashLog: crashLines(c.logPath),
  };
  // a crashed collector is restarted on its state; the queries then read what reached D1
  Object.assign(result.ingest, await flushAfterFeed(c, MODEL));

  result.loadAverage.queries = loadavg();
  process.stderr.write("timing GET /v1/drift …\n");
  /** @type {Record<string, any>} */
  const collector = {};
  /** @type {Record<string, any>} */
  const answers = {};
  for (const q of queries) {
    /** @type {number[]} */
    const times = [];
    let first = NaN;
    // one untimed warm-up run (it is reported as `firstMs`), then RUNS timed ones
    for (let i = 0; i <= RUNS && !c.down(); i++) {
      const t0 = performance.now();
      const answer = await c.api("GET", `/v1/drift?model=${MODEL}&${q.query}`, { timeoutMs: 300_000 });
      const t = performance.now() - t0;
      if (i === 0) (first = t), (answers[q.name] = answer);
      else times.push(t);
    }
    collector[q.name] = { query: q.query, count: answers[q.name]?.count, firstMs: ms(first), ...summary(times) };
  }
  result.collector = collector;

  // the dashboard's 24 h heatmap: one GET /v1/drift/series of 24 hour windows against 24 GET
  // /v1/drift, one per window, one after the other (the dashboard's series replaced those)
  process.stderr.write("timing the 24 h series against a request per hour …\n");
  const hours = Array.from({ length: 24 }, (_, i) => to - (24 - i) * 60 * MINUTE);
  const seriesQuery = `from=${hours[0]}&to=${to}&step=${60 * MINUTE}&window=hour`;
  /** @type {{ series: number[], perWindow: number[] }} */
  const heat = { series: [], perWindow: [] };
  for (let i = 0; i <= RUNS && !c.down(); i++) {
    const t0 = performance.now();
    await c.api("GET", `/v1/drift/series?model=${MODEL}&${seriesQuery}`, { timeoutMs: 300_000 });
    const t1 = performance.now();
    for (const from of hours) await c.api("GET", `/v1/drift?model=${MODEL}&from=${from}&to=${from + 60 * MINUTE}&window=hour`, { timeoutMs: 300_000 });
    const t2 = performance.now();
    // the first round warms up, as above
    if (i > 0) heat.series.push(t1 - t0), heat.perWindow.push(t2 - t1);
  }
  result.heatmap24h = {
    series: { query: seriesQuery, ...summary(heat.series) },
    perWindow: { requests: 24, ...summary(heat.perWindow) },
    ratioSeriesToPerWindow: +(median(heat.series) / median(heat.perWindow)).toFixed(3),
  };

  result.loadAverage.raw = loadavg();
  process.stderr.write(`numpy/scipy on the raw rows (${RAW_RUNS} runs per query) …\n`);
  // when not all of the feed went in, numpy reads the rows of the clients the collector acknowledged
  const clients = result.ingest.complete ? undefined : sent.clientsComplete;
  result.ingest.rawClients = clients ? `the ${clients.length} clients whose every report was acknowledged` : "all";
  const rawQueries = queries.filter((q) => q.raw && (RAW === "all" || q.name === "hour")).map((q) => ({ name: q.name, ...q.raw, clients }));
  const py = spawnSync(PYTHON, [join(root, "test/bench/drift/raw_metrics.py"), rawDir, JSON.stringify(rawQueries), String(RAW_RUNS)], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: 3_600_000,
  });
  if (py.status !== 0) {
    const hint = py.stderr.includes("ModuleNotFoundError") ? ` (as root: apt-get install -y python3-numpy python3-scipy)` : "";
    throw new Error(`raw_metrics.py failed (${py.status ?? py.signal})${hint}: ${py.stderr.slice(-2000)}`);
  }
  const raw = JSON.parse(py.stdout);
  result.raw = {
    python: PYTHON,
    numpy: raw.numpy,
    loadSeconds: +raw.loadSeconds.toFixed(2),
    ...Object.fromEntries(raw.queries.map((/** @type {any} */ q) => [q.name, { rows: q.rows, ...summary(q.seconds.map((/** @type {number} */ s) => s * 1000)) }])),
  };
  // the hour's raw computation is also what the bins and 24 h queries ask for (the same rows)
  const rawFor = (/** @type {string} */ name) => result.raw[name] ?? result.raw.hour;
  result.ratioCollectorToRaw = Object.fromEntries(queries.map((q) => [q.name, +(collector[q.name].medianMs / rawFor(q.raw ? q.name : "hour").medianMs).toFixed(4)]));
  result.accuracyVsScipy = accuracy(answers.hour, raw.metrics);
} catch (err) {
  result.error = err instanceof Error ? err.message : String(err);
} finally {
  result.loadAverage.end = loadavg();
  result.collectorDownAtEnd = c.down() ?? null;
  result.crashLogAtEnd = crashLines(c.logPath);
  await c.close();
  rmSync(rawDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));

/**
 * Largest absolute difference per metric between the collector's answer for the hour and
 * scipy's metrics of the same rows, over every feature and the prediction, and where it is.
 * @param {any} answer
 * @param {Record<string, Record<string, number>>} scipy
 */
function accuracy(answer, scipy) {
  /** @type {Record<string, { maxAbsError: number, feature: string }>} */
  const worst = {};
  for (const [name, expected] of Object.entries(scipy)) {
    const got = name === "(prediction)" ? answer.prediction?.metrics : answer.features[name]?.metrics;
    for (const metric of ["ks", "psi", "js", "wasserstein_normed"]) {
      if (typeof expected[metric] !== "number" || typeof got?.[metric] !== "number") continue;
      const err = Math.abs(got[metric] - expected[metric]);
      if ((worst[metric]?.maxAbsError ?? -1) < err) worst[metric] = { maxAbsError: +err.toFixed(5), feature: name };
    }
  }
  const drifted = Object.entries(answer.features)
    .filter(([, f]) => /** @type {any} */ (f).drifted)
    .map(([n]) => n);
  return { ...worst, driftedFeatures: drifted };
}
