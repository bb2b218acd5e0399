// Ingest bench: a local `wrangler dev` collector, a published 30-feature model, and concurrent
// senders POSTing report batches for a bounded time. Prints one JSON object: reports/s, request
// latency p50/p99, workerd CPU ms per report, D1 rows written per report, and the loss count
// (reports and rows sent minus those merged into D1). 127.0.0.1 only.
//
//   npm run bench -- ingest [--seconds 20] [--senders 8] [--batch 50] [--rows 20] [--flush-ms 10000]
import { randomBytes } from "node:crypto";
import { createWriteStream, rmSync, mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForNode } from "../../../scripts/lib/bundle-node.mjs";
import { startCollector } from "../../../scripts/lib/collector-process.mjs";
import { descendantProcesses, percentile } from "../fleet/harness.mjs";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), Number(all[i + 1])]] : [])));
const SECONDS = args.seconds ?? 20;
const SENDERS = args.senders ?? 8;
const BATCH = args.batch ?? 50;
const ROWS = args.rows ?? 20;
const FLUSH_MS = args["flush-ms"] ?? 10_000;
const MODEL = "bench-ingest";

const { benchManifest, reportBodies, stamp, sha256Hex, onnxLikeBytes, FEATURES } = await import(await bundleForNode("test/bench/ingest/payloads.ts"));

/** CPU seconds (user + system) of the processes descending from this one whose name starts with `prefix`. */
const childCpuSeconds = (prefix = "workerd") => descendantProcesses(prefix).reduce((a, p) => a + p.cpu, 0);

const adminKey = `bench-${randomBytes(12).toString("hex")}`;
const persistTo = mkdtempSync(join(tmpdir(), "driftline-bench-"));
// wrangler's output goes to a log file, so a restart or an error can be looked up after the run
const logPath = join(tmpdir(), "driftline-bench-ingest.log");
const collector = await startCollector({ adminKey, persistTo, logFile: createWriteStream(logPath), vars: { FLUSH_INTERVAL_MS: String(FLUSH_MS) } });
try {
  /**
   * One admin API call; throws unless 2xx.
   * @param {string} method
   * @param {string} path
   * @param {{ token?: string, json?: unknown, body?: BodyInit, type?: string }} [options]
   */
  const api = async (method, path, { token = adminKey, json, body, type } = {}) => {
    const res = await fetch(`${collector.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(json !== undefined || type ? { "Content-Type": type ?? "application/json" } : {}) },
      body: json !== undefined ? JSON.stringify(json) : body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const bytes = onnxLikeBytes();
  const sha = await sha256Hex(bytes);
  await api("PUT", `/v1/artifacts/${sha}`, { body: bytes, type: "application/octet-stream" });
  const { version } = await api("POST", `/v1/models/${MODEL}/versions`, { json: { manifest: benchManifest(MODEL, sha, bytes.length) } });
  await api("PUT", `/v1/models/${MODEL}/rollout`, { json: { stable: version } });
  const { token: ingest } = await api("POST", "/v1/keys", { json: { app: "default", role: "ingest" } });

  const bodies = reportBodies(64, ROWS);
  const reportBytes = JSON.stringify(stamp(MODEL, version, bodies[0], 0, Date.now())).length;
  const start = Date.now();
  const deadline = start + SECONDS * 1000;
  /** @type {number[]} */
  const latencies = [];
  let next = 0;
  let requests = 0;
  let sent = 0;
  let acceptedReports = 0;
  let failures = 0;
  const loadBefore = loadavg();
  const cpuBefore = childCpuSeconds();
  const nodeBefore = childCpuSeconds("node");
  const selfBefore = process.cpuUsage();
  const sender = async () => {
    while (Date.now() < deadline) {
      const t0 = performance.now();
      const reports = Array.from({ length: BATCH }, () => {
        const n = next++;
        return stamp(MODEL, version, bodies[n % bodies.length], n, Date.now());
      });
      const res = await fetch(`${collector.url}/v1/reports`, {
        method: "POST",
        // a batch from a fleet, each from its own address: one address would meet the per-address
        // rate limit (wrangler dev keeps a CF-Connecting-IP the client sends; Cloudflare sets it)
        headers: { Authorization: `Bearer ${ingest}`, "Content-Type": "application/json", "CF-Connecting-IP": `198.18.${(requests >> 8) & 255}.${requests++ & 255}` },
        body: JSON.stringify({ reports }),
      });
      const text = await res.text();
      latencies.push(performance.now() - t0);
      sent += reports.length;
      // a failed request (e.g. wrangler dev reloading on a file change) is retried by real clients; here it is counted
      if (res.ok) acceptedReports += JSON.parse(text).accepted.length;
      else {
        failures++;
        sent -= reports.length;
        if (failures === 1) console.error(`first failed request: HTTP ${res.status} ${text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  const elapsed = (Date.now() - start) / 1000;
  const cpu = childCpuSeconds() - cpuBefore;
  const wranglerCpu = childCpuSeconds("node") - nodeBefore;
  const self = process.cpuUsage(selfBefore);

  await api("POST", `/v1/reports/flush?model=${MODEL}`);
  const stats = await api("GET", `/v1/reports/stats?model=${MODEL}`);
  const metrics = await (await fetch(`${collector.url}/metrics`, { headers: { Authorization: `Bearer ${adminKey}` } })).text();
  const counter = (/** @type {string} */ name) => Number(metrics.match(new RegExp(`^${name}\\{model="${MODEL}",app="default",version="${version}",role="live"\\} (\\S+)$`, "m"))?.[1] ?? 0);
  const mergedReports = counter("driftline_reports_total");
  const mergedRows = counter("driftline_rows_total");
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        bench: "ingest",
        features: FEATURES,
        rowsPerReport: ROWS,
        reportBytes,
        senders: SENDERS,
        batch: BATCH,
        flushIntervalMs: FLUSH_MS,
        loadAverage: { start: loadBefore, end: loadavg() },
        seconds: elapsed,
        requests: latencies.length,
        reportsSent: sent,
        reportsAccepted: acceptedReports,
        failedRequests: failures,
        reportsPerSecond: Math.round(acceptedReports / elapsed),
        latencyMs: { p50: +percentile(latencies, 0.5).toFixed(1), p99: +percentile(latencies, 0.99).toFixed(1) },
        cpuMsPerReport: +((cpu * 1000) / Math.max(1, acceptedReports)).toFixed(3),
        cpuCoresUsed: { workerd: +(cpu / elapsed).toFixed(2), wranglerNode: +(wranglerCpu / elapsed).toFixed(2), senders: +((self.user + self.system) / 1e6 / elapsed).toFixed(2) },
        d1RowsWrittenPerReport: +(stats.total.rowsWritten / Math.max(1, stats.total.accepted)).toFixed(5),
        d1RowsWritten: stats.total.rowsWritten,
        d1BytesWrittenPerReport: Math.round(stats.total.bytesWritten / Math.max(1, stats.total.accepted)),
        flushes: stats.total.flushes,
        mergedReports,
        mergedRows,
        lossReports: sent - mergedReports,
        lossRows: sent * ROWS - mergedRows,
      },
      null,
      2,
    ),
  );
} finally {
  await collector.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
