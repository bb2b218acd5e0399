// What the fleet and drift benches share: a local `wrangler dev` collector with a published
// fleet model, a bounded concurrent sender of a feed, the workerd processes' memory, and the size
// of the local D1 database. Only the collector's HTTP API is used (reports, flush, stats,
// /metrics, drift), so the benches keep working while its internals change. 127.0.0.1 only.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForNode } from "../../../scripts/lib/bundle-node.mjs";
import { startCollector } from "../../../scripts/lib/collector-process.mjs";

/** Debian's python, with python3-numpy and python3-scipy (not a pyenv python on PATH). */
export const PYTHON = "/usr/bin/python3";

/**
 * `--name value` arguments as numbers, or strings when not numeric.
 * @param {string[]} argv
 * @returns {Record<string, string | number | undefined>}
 */
export function parseArgs(argv) {
  return Object.fromEntries(argv.flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), Number.isNaN(Number(all[i + 1])) ? all[i + 1] : Number(all[i + 1])]] : [])));
}

/** @param {number[]} sorted @param {number} q */
export const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** The fleet generator (test/bench/fleet/feed.ts), bundled for Node. */
export const loadFeed = async () => /** @type {typeof import("./feed.ts")} */ (await import(await bundleForNode("test/bench/fleet/feed.ts")));

/**
 * The processes descending from this one whose name starts with `prefix`, with their CPU seconds
 * (user + system), resident memory and peak resident memory (VmHWM) in bytes.
 * @param {string} prefix
 */
export function descendantProcesses(prefix) {
  const tick = 100; // USER_HZ on Linux
  /** @type {Map<number, { comm: string, ppid: number, cpu: number }>} */
  const procs = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(pid), { comm, ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / tick });
    } catch {
      /* exited meanwhile */
    }
  }
  const mine = (/** @type {number} */ pid) => {
    for (let p = procs.get(pid); p; p = procs.get(p.ppid)) if (p.ppid === process.pid) return true;
    return false;
  };
  /** @type {{ pid: number, cpu: number, rss: number, hwm: number }[]} */
  const out = [];
  for (const [pid, p] of procs) {
    if (!p.comm.startsWith(prefix) || !mine(pid)) continue;
    let status = "";
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue;
    }
    const kb = (/** @type {string} */ key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
    out.push({ pid, cpu: p.cpu, rss: kb("VmRSS"), hwm: kb("VmHWM") });
  }
  return out;
}

/**
 * Samples the workerd processes every `everyMs`: the peak of their summed RSS, each one's
 * VmHWM, and which ones came and went (a new workerd process is a restart).
 * @param {number} [everyMs]
 */
export function watchWorkerd(everyMs = 500) {
  /** @type {Map<number, number>} */
  const hwm = new Map();
  /** CPU seconds of each process when first and last seen (a process that exits keeps its last sample). */
  /** @type {Map<number, { first: number, last: number }>} */
  const cpu = new Map();
  let peakSum = 0;
  let started = false;
  const sample = () => {
    const procs = descendantProcesses("workerd");
    peakSum = Math.max(
      peakSum,
      procs.reduce((a, p) => a + p.rss, 0),
    );
    for (const p of procs) {
      hwm.set(p.pid, Math.max(hwm.get(p.pid) ?? 0, p.hwm));
      // processes running at the start count from there, later ones from their start
      cpu.set(p.pid, { first: cpu.get(p.pid)?.first ?? (started ? 0 : p.cpu), last: p.cpu });
    }
  };
  sample();
  started = true;
  const first = new Set(hwm.keys());
  const loadBefore = loadavg();
  const timer = setInterval(sample, everyMs);
  const mb = (/** @type {number} */ b) => Math.round(b / 2 ** 20);
  return {
    /** Stops sampling; answers the figures (CPU: of every workerd process seen, up to its last sample). */
    stop() {
      sample();
      clearInterval(timer);
      return {
        workerdCpuSeconds: +[...cpu.values()].reduce((a, c) => a + c.last - c.first, 0).toFixed(2),
        // wrangler dev runs two: the user worker (the collector, with its Durable Objects and local
        // D1) and wrangler's proxy in front of it, which forwards every request body
        workerdCpuSecondsByProcess: Object.fromEntries([...cpu].map(([pid, c]) => [pid, +(c.last - c.first).toFixed(2)])),
        loadAverage: { start: loadBefore, end: loadavg() },
        peakRssMb: mb(peakSum),
        peakRssMbByProcess: Object.fromEntries([...hwm].map(([pid, b]) => [pid, mb(b)])),
        workerdProcessesStarted: [...hwm.keys()].filter((p) => !first.has(p)).length,
      };
    },
  };
}

/**
 * Starts a collector on a fresh local state directory, with its output in a log file. `restart()`
 * starts it again on the same state (after a crash: D1 keeps what was flushed).
 * @param {string} name the bench (log file name)
 * @param {Record<string, string>} [vars]
 * @param {number} [inspectorPort] wrangler's DevTools inspector on this port (see ./cpu-profile.mjs)
 */
export async function startBenchCollector(name, vars = {}, inspectorPort = undefined) {
  const adminKey = `bench-${randomBytes(12).toString("hex")}`;
  const persistTo = mkdtempSync(join(tmpdir(), `driftline-bench-${name}-`));
  const logPath = join(tmpdir(), `driftline-bench-${name}.log`);
  const log = createWriteStream(logPath);
  /** @type {number | null | undefined} */
  let exitCode;
  const start = async () => {
    const collector = await startCollector({ adminKey, persistTo, logFile: log, vars, inspectorPort });
    exitCode = undefined;
    collector.exited.then((code) => (exitCode = code));
    return collector;
  };
  let collector = await start();
  /** @type {{ at: number, crash: string | undefined }} */
  let checked = { at: 0, crash: undefined };
  /**
   * One API call with a time limit; answers status, text and JSON (when it parses).
   * @param {string} method
   * @param {string} path
   * @param {{ token?: string, json?: unknown, body?: BodyInit, type?: string, timeoutMs?: number }} [options]
   */
  const call = async (method, path, { token = adminKey, json, body, type, timeoutMs = 120_000 } = {}) => {
    const res = await fetch(`${collector.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(json !== undefined || type ? { "Content-Type": type ?? "application/json" } : {}) },
      body: json !== undefined ? JSON.stringify(json) : body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, json: parsed };
  };
  /** Like `call`, but throws unless 2xx and answers the JSON. */
  const api = async (/** @type {Parameters<typeof call>} */ ...a) => {
    const r = await call(...a);
    if (r.status < 200 || r.status > 299) throw new Error(`${a[0]} ${a[1]}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  };
  return {
    get url() {
      return collector.url;
    },
    adminKey,
    persistTo,
    logPath,
    call,
    api,
    /**
     * Why the collector is down, or undefined while it runs: `wrangler dev` exited, or its log
     * shows a crash (a workerd that crashed answers every request 503 from then on).
     */
    down() {
      if (exitCode !== undefined) return `wrangler dev exited (${exitCode})`;
      // the log is read at most once a second (senders ask before every request)
      if (Date.now() - checked.at > 1000) checked = { at: Date.now(), crash: crashLines(logPath).find((l) => CRASH.test(l)) };
      return checked.crash ? `collector crashed: ${checked.crash.trim()}` : undefined;
    },
    /** Stops the collector and starts it again on the same state; the log goes on. */
    async restart() {
      await collector.stop();
      log.write("\n=== bench: collector restarted on the same state ===\n");
      checked = { at: 0, crash: undefined };
      collector = await start();
    },
    /** Stops the collector and deletes its state. */
    async close() {
      await collector.stop();
      log.end();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/**
 * Flushes the model after its feed. A collector that is down is restarted on its state first (its
 * aggregator then rebuilds its pending log, which may crash it again): at most `attempts` flushes.
 * Leaves the collector up. Answers whether a flush went through, and what happened.
 * @param {Awaited<ReturnType<typeof startBenchCollector>>} c
 * @param {string} model
 * @param {number} [attempts]
 */
export async function flushAfterFeed(c, model, attempts = 2) {
  /** @type {string[]} */
  const events = [];
  const t0 = Date.now();
  let ok = false;
  for (let i = 0; i < attempts && !ok; i++) {
    const down = c.down();
    if (down) events.push(`restarted after: ${down}`), await c.restart();
    const r = await c.call("POST", `/v1/reports/flush?model=${model}`, { timeoutMs: 600_000 }).catch((err) => ({ status: 0, text: String(err) }));
    ok = r.status === 200;
    if (!ok) events.push(`flush: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  }
  const down = c.down();
  if (down) events.push(`restarted after: ${down}`), await c.restart();
  return { flushed: ok, flushSeconds: (Date.now() - t0) / 1000, restarts: events.filter((e) => e.startsWith("restarted")).length, events };
}

/**
 * Publishes the feed's model (artifact, version, rollout) and makes an ingest key. The feed's
 * reports name version 1: the model must be new.
 * @param {Awaited<ReturnType<typeof startBenchCollector>>} c
 * @param {{ manifest: { model: string, sha256: string }, onnx: Uint8Array }} feed
 */
export async function publishFleetModel(c, feed) {
  await c.api("PUT", `/v1/artifacts/${feed.manifest.sha256}`, { body: new Uint8Array(feed.onnx), type: "application/octet-stream" });
  const { version } = await c.api("POST", `/v1/models/${feed.manifest.model}/versions`, { json: { manifest: feed.manifest } });
  if (version !== 1) throw new Error(`expected version 1 of a new model, got ${version}`);
  await c.api("PUT", `/v1/models/${feed.manifest.model}/rollout`, { json: { stable: version } });
  const { token } = await c.api("POST", "/v1/keys", { json: { app: "default", role: "ingest" } });
  return { version, ingestKey: token };
}

/**
 * Sends every batch once (retrying a 5xx or a network error up to `retries` times, with backoff,
 * as the runtime's queue does) with `senders` concurrent senders, as fast as the collector answers.
 * Stops early when `dead()` names a reason, `seconds` pass, or no request was accepted for
 * `stallSeconds`. Counts every response ≥ 500 by status, including the retried ones, and answers
 * the clients whose every report was acknowledged (`clientsComplete`).
 * @param {{ url: string, token: string, batches: { client: number, reports: number, body: Buffer<ArrayBuffer> }[], senders: number, seconds: number, stallSeconds?: number, retries: number, requestTimeoutMs: number, dead: () => string | undefined }} o
 */
export async function sendFeed(o) {
  const deadline = Date.now() + o.seconds * 1000;
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const serverErrors = {};
  const counts = { requests: 0, networkErrors: 0, reportsSent: 0, accepted: 0, duplicates: 0, rejected: 0, reportsNotTaken: 0, clientErrors: 0 };
  /** @type {string | undefined} */
  let stopped;
  /** @type {string[]} */
  const firstErrors = [];
  const note = (/** @type {string} */ e) => firstErrors.length < 5 && firstErrors.push(e);
  /** @type {Set<number>} */
  const incomplete = new Set();
  let next = 0;
  const start = Date.now();
  let lastAccepted = start;
  const stall = (o.stallSeconds ?? 180) * 1000;
  const why = () =>
    o.dead() ?? (Date.now() > deadline ? `time limit of ${o.seconds} s reached` : undefined) ?? (Date.now() - lastAccepted > stall ? `no request accepted for ${stall / 1000} s` : undefined);
  const sender = async () => {
    while (next < o.batches.length) {
      if ((stopped ??= why())) return;
      const batch = /** @type {(typeof o.batches)[number]} */ (o.batches[next++]);
      let taken = false;
      for (let attempt = 0; attempt <= o.retries && !taken; attempt++) {
        if (attempt) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt * (0.5 + Math.random())));
        if ((stopped ??= why())) break;
        const t0 = performance.now();
        counts.requests++;
        try {
          const res = await fetch(`${o.url}/v1/reports`, {
            method: "POST",
            // each client from its own network, as a fleet is (wrangler dev keeps a CF-Connecting-IP
            // the client sends; Cloudflare sets it): the collector's per-sender budget and
            // trimming see 1,000 senders, not one attacker
            headers: { Authorization: `Bearer ${o.token}`, "Content-Type": "application/json", "CF-Connecting-IP": `198.18.${batch.client >> 8}.${batch.client & 255}` },
            body: batch.body,
            signal: AbortSignal.timeout(o.requestTimeoutMs),
          });
          const text = await res.text();
          latencies.push(performance.now() - t0);
          if (res.ok) {
            const answer = JSON.parse(text);
            counts.accepted += answer.accepted.length;
            counts.duplicates += answer.duplicates.length;
            counts.rejected += answer.rejected.length;
            if (answer.accepted.length + answer.duplicates.length < batch.reports) incomplete.add(batch.client);
            if (answer.rejected.length) note(`rejected: ${JSON.stringify(answer.rejected[0]).slice(0, 200)}`);
            taken = true;
            lastAccepted = Date.now();
          } else if (res.status >= 500) {
            serverErrors[res.status] = (serverErrors[res.status] ?? 0) + 1;
            note(`HTTP ${res.status} ${text.slice(0, 200)}`);
          } else {
            counts.clientErrors++;
            note(`HTTP ${res.status} ${text.slice(0, 200)}`);
            break; // a 4xx is not retried
          }
        } catch (err) {
          counts.networkErrors++;
          note(`network: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      counts.reportsSent += batch.reports;
      if (!taken) counts.reportsNotTaken += batch.reports;
      if (!taken) incomplete.add(batch.client);
    }
  };
  await Promise.all(Array.from({ length: o.senders }, sender));
  latencies.sort((a, b) => a - b);
  const sentClients = new Set(o.batches.slice(0, next).map((b) => b.client));
  const unsent = new Set(o.batches.slice(next).map((b) => b.client));
  return {
    clientsComplete: [...sentClients].filter((cl) => !incomplete.has(cl) && !unsent.has(cl)),
    seconds: (Date.now() - start) / 1000,
    /** When the last request was accepted, seconds after the start. */
    lastAcceptedSeconds: (lastAccepted - start) / 1000,
    ...counts,
    batchesSent: Math.min(next, o.batches.length),
    batchesTotal: o.batches.length,
    stoppedEarly: stopped ?? null,
    serverErrors,
    firstErrors,
    latencyMs: { p50: +percentile(latencies, 0.5).toFixed(1), p99: +percentile(latencies, 0.99).toFixed(1), max: +(latencies.at(-1) ?? NaN).toFixed(1) },
  };
}

/** Reads a SQLite file with Debian's python (Node 20 has no SQLite): tables, rows, bytes. */
const SQLITE_REPORT = `
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
out = {"tables": {t: {"rows": db.execute(f'select count(*) from "{t}"').fetchone()[0]} for t in tables}}
try:
    for name, size in db.execute("select name, sum(pgsize) from dbstat group by name"):
        out["tables"].setdefault(name, {})["bytes"] = size
except sqlite3.Error:
    pass
if "aggregates" in tables:
    cols = [r[1] for r in db.execute("pragma table_info(aggregates)")]
    if "data" in cols:
        out["aggregatesDataBytes"] = db.execute("select coalesce(sum(length(data)), 0) from aggregates").fetchone()[0]
    if "granularity" in cols:
        size = "coalesce(sum(length(data)), 0)" if "data" in cols else "null"
        out["aggregatesByGranularity"] = {g: {"rows": n, "dataBytes": b} for g, n, b in db.execute(f"select granularity, count(*), {size} from aggregates group by granularity")}
print(json.dumps(out))
`;

/**
 * The local D1 database under a wrangler state directory: the SQLite file (with its WAL) in
 * bytes, per table rows and bytes, and the aggregates' `data` bytes per granularity (when the
 * table has those columns).
 * @param {string} persistTo
 */
export function d1Usage(persistTo) {
  const dir = join(persistTo, "v3/d1");
  /** @type {string[]} */
  const files = [];
  const walk = (/** @type {string} */ d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".sqlite") && e.name !== "metadata.sqlite") files.push(join(d, e.name));
    }
  };
  try {
    walk(dir);
  } catch {
    return { error: `no D1 state under ${dir}` };
  }
  const size = (/** @type {string} */ f) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  const dbs = files.map((file) => {
    const run = spawnSync(PYTHON, ["-c", SQLITE_REPORT, file], { encoding: "utf8" });
    const contents = run.status === 0 ? JSON.parse(run.stdout) : { error: run.stderr.trim().split("\n").at(-1) };
    return { fileBytes: size(file), walBytes: size(`${file}-wal`), ...contents };
  });
  // the collector's database is the one with the aggregates
  return dbs.find((d) => d.tables?.aggregates) ?? dbs[0] ?? { error: "no D1 database file" };
}

/** Log lines of a workerd that died: heap exhaustion or a fatal signal. */
const CRASH = /out of memory|heap limit|Received signal|segmentation fault|fatal error/i;

/**
 * Lines of the collector log that tell of a crash or a restart (heap exhaustion, fatal signals,
 * workerd restarting an object, uncaught errors), since the last restart by the bench.
 * @param {string} logPath
 */
export function crashLines(logPath) {
  let text = "";
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return [];
  }
  const sinceRestart = text.slice(text.lastIndexOf("=== bench: collector restarted") + 1);
  return sinceRestart
    .split("\n")
    .filter((l) => CRASH.test(l) || /restarted mid-request|uncaught|exceeded/i.test(l))
    .slice(0, 10);
}

/**
 * The counters of a model the collector reports after a flush: reports it counted
 * (`driftline_reports_total` of /metrics, D1's all-time day rows) and its ingest stats.
 * @param {Awaited<ReturnType<typeof startBenchCollector>>} c
 * @param {string} model
 * @param {number} version
 */
export async function countedReports(c, model, version) {
  const stats = await c.api("GET", `/v1/reports/stats?model=${model}`);
  const metrics = await c.call("GET", "/metrics", { timeoutMs: 300_000 });
  // every sample's labels start with model and app (docs/ingest.md "/metrics")
  const counter = (/** @type {string} */ name) => Number(metrics.text.match(new RegExp(`^${name}\\{model="${model}",app="[^"]*",version="${version}",role="live"\\} (\\S+)$`, "m"))?.[1] ?? NaN);
  return { stats: stats.total, reports: counter("driftline_reports_total"), rows: counter("driftline_rows_total") };
}
