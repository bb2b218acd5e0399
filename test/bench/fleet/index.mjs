// Fleet bench (issue 12): the seeded fleet of feed.ts (220 features, 1,000 clients, segments
// appVersion × country) sent into a local `wrangler dev` collector as fast as it takes it, by
// concurrent senders each POSTing one client's own reports per request. Then a flush, and one
// JSON object: reports/s, request latency, responses ≥ 500 by status, reports lost (accepted
// minus counted), D1 bytes and rows, D1 rows written per report, peak RSS of workerd. A collector
// that dies is detected (its exit, crash lines of its log, no request accepted for 180 s):
// sending stops, it is restarted on the same state, flushed, and counted.
//
//   npm run bench -- fleet [--feed hour|day] [--senders 8] [--batch 12] [--seconds 900] [--retries 3]
//                          [--profile file.cpuprofile]
//
// --profile: a CPU profile of the collector's isolate while the feed is sent (./cpu-profile.mjs);
// wrangler's inspector is on for it, which slows the collector (the figures are then not the
// bench's own: they go to results/fleet-<feed>-profiled.json).
//
// hour: 1,000 clients × a report every 5 minutes over the last hour (12,000 reports);
// day: 5 reports a minute over the last 24 h (7,200 reports), backfilled.
import { randomBytes } from "node:crypto";
import { freePort } from "../../../scripts/lib/collector-process.mjs";
import { profileCollector } from "./cpu-profile.mjs";
import { countedReports, crashLines, d1Usage, flushAfterFeed, loadFeed, parseArgs, publishFleetModel, sendFeed, startBenchCollector, watchWorkerd } from "./harness.mjs";

const args = parseArgs(process.argv.slice(2));
const FEED = /** @type {"hour" | "day"} */ (String(args.feed ?? "hour"));
if (FEED !== "hour" && FEED !== "day") throw new Error(`--feed must be hour or day, not ${FEED}`);
const SENDERS = Number(args.senders ?? 8);
const BATCH = Number(args.batch ?? 12);
const SECONDS = Number(args.seconds ?? 900);
const RETRIES = Number(args.retries ?? 3);
const MODEL = `bench-fleet-${FEED}`;
const PROFILE = args.profile === undefined ? undefined : String(args.profile);

const { buildFeed } = await loadFeed();
process.stderr.write(`building the ${FEED} feed …\n`);
const built = Date.now();
const feed = buildFeed({ name: FEED, model: MODEL, version: 1, now: Date.now(), batch: BATCH, tag: randomBytes(4).toString("hex") });
process.stderr.write(`${feed.reports} reports in ${feed.batches.length} requests, built in ${((Date.now() - built) / 1000).toFixed(0)} s; sending …\n`);

const inspectorPort = PROFILE ? /** @type {number} */ (await freePort()) : undefined;
const c = await startBenchCollector(`fleet-${FEED}`, {}, inspectorPort);
/** @type {Record<string, unknown>} */
const result = { bench: `fleet-${FEED}${PROFILE ? "-profiled" : ""}`, reports: feed.reports, rows: feed.rows, reportBytes: feed.reportBytes, senders: SENDERS, batch: BATCH };
try {
  const { version, ingestKey } = await publishFleetModel(c, feed);
  const memory = watchWorkerd();
  const profiler = inspectorPort === undefined ? undefined : await profileCollector(inspectorPort);
  const sent = await sendFeed({ url: c.url, token: ingestKey, batches: feed.batches, senders: SENDERS, seconds: SECONDS, retries: RETRIES, requestTimeoutMs: 120_000, dead: c.down });
  if (profiler && PROFILE) {
    await profiler.stop(PROFILE);
    result.profile = PROFILE;
  }
  const crashedWhileSending = c.down() ?? null;
  Object.assign(result, {
    seconds: sent.seconds,
    reportsPerSecond: Math.round(sent.accepted / sent.seconds),
    reportsPerSecondUntilLastAccepted: Math.round(sent.accepted / Math.max(sent.lastAcceptedSeconds, 0.001)),
    latencyMs: sent.latencyMs,
    requests: sent.requests,
    responsesAtLeast500: sent.serverErrors,
    networkErrors: sent.networkErrors,
    reportsSent: sent.reportsSent,
    reportsAccepted: sent.accepted,
    reportsRejected: sent.rejected,
    reportsDuplicate: sent.duplicates,
    reportsNotTaken: sent.reportsNotTaken,
    batchesNotSent: sent.batchesTotal - sent.batchesSent,
    stoppedEarly: sent.stoppedEarly,
    crashedWhileSending,
    crashLog: crashLines(c.logPath),
    firstErrors: sent.firstErrors,
    ...memory.stop(),
  });
  // a cast of its own: Biome's formatter moves a JSDoc cast inside a longer expression
  const cpuSeconds = /** @type {number} */ (result.workerdCpuSeconds);
  result.workerdCpuMsPerReport = +((cpuSeconds * 1000) / Math.max(1, sent.accepted)).toFixed(2);
  // after a crash: restart on the same state, flush (the aggregator rebuilds its pending log)
  const flush = await flushAfterFeed(c, MODEL);
  Object.assign(result, flush);
  const counted = await countedReports(c, MODEL, version).catch((err) => ({ error: String(err) }));
  if ("error" in counted) result.countError = counted.error;
  else {
    Object.assign(result, {
      reportsCounted: counted.reports,
      rowsCounted: counted.rows,
      reportsLost: sent.accepted - counted.reports,
      d1RowsWritten: counted.stats.rowsWritten,
      d1RowsWrittenPerReport: +(counted.stats.rowsWritten / Math.max(1, counted.stats.accepted)).toFixed(3),
      d1BytesWritten: counted.stats.bytesWritten,
      flushSecondsTotal: +(counted.stats.flushMs / 1000).toFixed(1),
      d1BytesWrittenPerReport: Math.round(counted.stats.bytesWritten / Math.max(1, counted.stats.accepted)),
      flushes: counted.stats.flushes,
      pendingAfterFlush: counted.stats.pending,
    });
  }
  const d1 = d1Usage(c.persistTo);
  result.d1 = d1;
  if (typeof d1.fileBytes === "number") result.d1MB = { file: +((d1.fileBytes + d1.walBytes) / 1e6).toFixed(1), aggregatesData: +((d1.aggregatesDataBytes ?? NaN) / 1e6).toFixed(1) };
} catch (err) {
  result.error = err instanceof Error ? err.message : String(err);
} finally {
  result.collectorDownAtEnd = c.down() ?? null;
  result.log = c.logPath;
  await c.close();
}
console.log(JSON.stringify(result, null, 2));
