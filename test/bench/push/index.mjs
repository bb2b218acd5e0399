// Push bench (issue 18): how long a rollback takes to reach a fleet of idle clients, with the
// rollout channel and without it. A local `wrangler dev` collector (what `npm start` runs), a
// published model with versions 1 and 2, and N light clients speaking the runtime's protocol from
// this process, each under its own forged client address (wrangler dev keeps a CF-Connecting-IP
// the client sends), so the per-address limits count them apart as they would on Cloudflare:
// - start: GET /v1/assignment (version 1) and its artifact, then subscribe to
//   GET /v1/rollout-channel (a WebSocket); then version 2 becomes stable and every client fetches
//   its assignment and version 2's artifact (as a report answer's hint would make it);
// - on a pushed config version other than its own: GET /v1/assignment, then the assigned
//   version's artifact unless its HTTP cache holds it (artifacts are `Cache-Control: immutable`,
//   so a browser that ran version 1 before has it); it serves the new version once both are in;
// - when the channel cannot open (`--channel off` runs the collector with PUSH_CHANNEL=off):
//   today's idle path, a poll of GET /v1/assignment every `--poll-ms` (the runtime's
//   pollIntervalMs, 5 min), each client's first poll at a random point of that period.
// Then POST /v1/models/:model/rollback (what `driftline rollback` sends: back to version 1) and the
// time from its start to each client serving version 1. Prints one JSON object: per mode the median, p90 and max
// of those times, clients served, and how long subscribing took. 127.0.0.1 only. Node 20 has no
// WebSocket: the light clients use the `ws` package (pinned in package.json).
//
//   npm run bench -- push [--clients 1000] [--channel both|on|off] [--poll-ms 300000]
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { bundleForNode } from "../../../scripts/lib/bundle-node.mjs";
import { startCollector } from "../../../scripts/lib/collector-process.mjs";
import { percentile } from "../fleet/harness.mjs";

const argv = process.argv.slice(2);
const arg = (/** @type {string} */ name, /** @type {string} */ fallback = "") => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const CLIENTS = Number(arg("clients", "1000"));
/** @type {Array<"on" | "off">} */
const MODES = arg("channel", "both") === "both" ? ["on", "off"] : [arg("channel") === "off" ? "off" : "on"];
const POLL_MS = Number(arg("poll-ms", "300000"));
const MODEL = "bench-push";
/** When a client that failed to fetch its assignment asks again: the runtime's report interval. */
const RETRY_MS = 30_000;
/** Requests and sockets opened at once while the fleet starts. */
const START_CONCURRENCY = 50;

const { benchManifest, sha256Hex, onnxLikeBytes } = await import(await bundleForNode("test/bench/ingest/payloads.ts"));

/** The forged address of client `i`: one per client, so no per-address bound is shared. */
const addressOf = (/** @type {number} */ i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * Runs `fn` over `items`, `limit` at a time.
 * @template T
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<void>} fn
 */
async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(/** @type {T} */ (items[next++]));
    }),
  );
}

/**
 * @typedef {{ id: string, ip: string, configVersion: number, pushed?: number, version: number, cached: Set<string>, heardAt?: number, assignedAt?: number, servedAt?: number, socket?: WebSocket, timer?: NodeJS.Timeout, busy?: Promise<void> }} Client
 */

/**
 * One bench run against a fresh collector.
 * @param {"on" | "off"} mode
 */
async function runMode(mode) {
  const adminKey = `bench-${randomBytes(12).toString("hex")}`;
  const persistTo = mkdtempSync(join(tmpdir(), "driftline-bench-push-"));
  const logPath = join(tmpdir(), `driftline-bench-push-${mode}.log`);
  const collector = await startCollector({ adminKey, persistTo, logFile: createWriteStream(logPath), vars: { PUSH_CHANNEL: mode } });
  /** @type {Client[]} */
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ id: `bench-client-${i}`, ip: addressOf(i), configVersion: 0, version: 0, cached: new Set() }));
  let stopping = false;
  try {
    /**
     * One admin API call; throws unless 2xx.
     * @param {string} method
     * @param {string} path
     * @param {{ json?: unknown, body?: BodyInit, type?: string }} [options]
     */
    const api = async (method, path, { json, body, type } = {}) => {
      const res = await fetch(`${collector.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${adminKey}`, ...(json !== undefined || type ? { "Content-Type": type ?? "application/json" } : {}) },
        body: json !== undefined ? JSON.stringify(json) : body,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
      return JSON.parse(text);
    };
    for (const size of [2048, 2049]) {
      const bytes = onnxLikeBytes(size);
      const sha = await sha256Hex(bytes);
      await api("PUT", `/v1/artifacts/${sha}`, { body: bytes, type: "application/octet-stream" });
      await api("POST", `/v1/models/${MODEL}/versions`, { json: { manifest: benchManifest(MODEL, sha, bytes.length) } });
    }
    const { token } = await api("POST", "/v1/keys", { json: { app: "default", role: "ingest" } });

    let rolledBackAt = Number.POSITIVE_INFINITY;
    let failures = 0;
    const get = async (/** @type {Client} */ client, /** @type {string} */ path) => {
      const res = await fetch(`${collector.url}${path}`, { headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": client.ip } });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return res;
    };
    /** The runtime's update: the assignment, then (when the version moved) the artifact. */
    const refresh = (/** @type {Client} */ client) =>
      (client.busy ??= (async () => {
        try {
          // as the runtime: naming the pushed config version lets the collector answer from its cache
          const pushed = client.pushed === undefined ? "" : `&config=${client.pushed}`;
          const a = await (await get(client, `/v1/assignment?model=${MODEL}&client=${client.id}${pushed}`)).json();
          if (Date.now() >= rolledBackAt) client.assignedAt ??= Date.now();
          if (!client.cached.has(a.manifest.sha256)) {
            await (await get(client, new URL(a.artifactUrl ?? `/v1/artifacts/${a.manifest.sha256}`, collector.url).pathname)).arrayBuffer();
            client.cached.add(a.manifest.sha256);
          }
          client.configVersion = a.configVersion;
          client.version = a.version;
          if (a.version === 1 && client.servedAt === undefined && Date.now() >= rolledBackAt) client.servedAt = Date.now();
        } catch (err) {
          failures++;
          // the runtime asks again at its next report tick (30 s) while it is behind the channel
          if (client.socket?.readyState === WebSocket.OPEN) client.timer = setTimeout(() => void refresh(client), RETRY_MS);
          if (failures <= 3) console.error(`bench push (${mode}): ${err}`);
        } finally {
          client.busy = undefined;
        }
      })());
    /** Subscribes; resolves true once the first message came, false when the channel cannot open. */
    const subscribe = (/** @type {Client} */ client) =>
      /** @type {Promise<boolean>} */ (
        new Promise((resolve) => {
          const url = `${collector.url.replace(/^http/, "ws")}/v1/rollout-channel?model=${MODEL}&key=${encodeURIComponent(token)}`;
          const socket = new WebSocket(url, { headers: { "CF-Connecting-IP": client.ip } });
          client.socket = socket;
          let opened = false;
          socket.on("open", () => (opened = true));
          socket.on("message", (/** @type {Buffer} */ data) => {
            resolve(true);
            if (Date.now() >= rolledBackAt) client.heardAt ??= Date.now();
            client.pushed = JSON.parse(String(data)).configVersion;
            if (client.pushed !== client.configVersion) void refresh(client);
          });
          socket.on("unexpected-response", (/** @type {unknown} */ _req, /** @type {import("node:http").IncomingMessage} */ res) => {
            res.resume();
            resolve(false);
          });
          socket.on("error", () => resolve(false));
          socket.on("close", () => {
            resolve(false);
            // a subscription lost mid-run (a refused one never opened)
            if (opened && !stopping) failures++;
          });
        })
      );
    const poll = (/** @type {Client} */ client) => {
      client.timer = setTimeout(function next() {
        void refresh(client);
        client.timer = setTimeout(next, POLL_MS);
      }, Math.random() * POLL_MS);
    };

    const startedAt = Date.now();
    let subscribed = 0;
    await pool(clients, START_CONCURRENCY, async (client) => {
      await refresh(client);
      if (await subscribe(client)) subscribed++;
      else poll(client);
    });
    await api("PUT", `/v1/models/${MODEL}/rollout`, { json: { stable: 2 } });
    await pool(clients, START_CONCURRENCY, refresh);
    while (clients.some((c) => c.busy)) await new Promise((r) => setTimeout(r, 50));
    const startMs = Date.now() - startedAt;
    if (clients.some((c) => c.version !== 2)) throw new Error("not every client moved to version 2");

    const cpuBefore = process.cpuUsage();
    rolledBackAt = Date.now();
    const answer = await api("POST", `/v1/models/${MODEL}/rollback`);
    const rollbackMs = Date.now() - rolledBackAt;
    if (answer.rollout.stable !== 1) throw new Error(`rollback answered ${JSON.stringify(answer)}`);
    const deadline = rolledBackAt + (subscribed === CLIENTS ? 60_000 : POLL_MS + 60_000);
    while (Date.now() < deadline && clients.some((c) => c.servedAt === undefined)) await new Promise((r) => setTimeout(r, 20));
    const times = clients.flatMap((c) => (c.servedAt === undefined ? [] : [c.servedAt - rolledBackAt])).sort((a, b) => a - b);
    const cpu = process.cpuUsage(cpuBefore);
    const heard = clients.flatMap((c) => (c.heardAt === undefined ? [] : [c.heardAt - rolledBackAt])).sort((a, b) => a - b);
    return {
      channel: mode,
      clients: CLIENTS,
      subscribed,
      polling: CLIENTS - subscribed,
      pollIntervalMs: subscribed === CLIENTS ? null : POLL_MS,
      startMs,
      rollbackRequestMs: rollbackMs,
      served: times.length,
      medianMs: percentile(times, 0.5),
      p90Ms: percentile(times, 0.9),
      maxMs: times.at(-1) ?? null,
      heardMedianMs: percentile(heard, 0.5),
      heardMaxMs: heard.at(-1) ?? null,
      assignedMedianMs: percentile(
        clients.flatMap((c) => (c.assignedAt === undefined ? [] : [c.assignedAt - rolledBackAt])).sort((a, b) => a - b),
        0.5,
      ),
      failures,
      benchProcessCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      log: logPath,
    };
  } finally {
    stopping = true;
    for (const c of clients) {
      clearTimeout(c.timer);
      c.socket?.terminate();
    }
    await collector.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

const runs = [];
for (const mode of MODES) runs.push(await runMode(mode));
console.log(
  JSON.stringify({
    bench: "push",
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, load1: loadavg()[0], node: process.version },
    runs,
  }),
);
