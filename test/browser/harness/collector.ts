// A real local collector for the runtime tests (wrangler dev, local D1 + R2), with helpers to
// publish models built in code, mint ingest keys and change the rollout through the HTTP API.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { startCollector } from "../../../scripts/lib/collector-process.mjs";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import type { Report } from "../../../protocol/schema/report.ts";
import { projectRoot } from "../../../scripts/lib/root.mjs";
import { ortHashesDefine } from "../../../scripts/lib/ort-files.mjs";

const root = projectRoot(import.meta.url);

/** A running collector and its admin helpers. */
export interface TestCollector {
  url: string;
  adminKey: string;
  /** An admin call; throws with the error body unless 2xx. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Uploads the artifact and registers the version; resolves to its number. */
  publish(bytes: Uint8Array, manifest: Manifest, app?: string): Promise<number>;
  /** A new ingest key's token for `app`. */
  ingestKey(app?: string): Promise<string>;
  /**
   * `POST /v1/reports` of one batch with an ingest key, from the client network `address`
   * (`CF-Connecting-IP`; verdicts trim the heaviest network's share); resolves to the accepted ids.
   */
  sendReports(ingest: string, reports: Report[], address?: string): Promise<string[]>;
  /** `PUT /v1/models/:model/rollout`. */
  rollout(model: string, change: Record<string, unknown>): Promise<unknown>;
  /**
   * Rows the collector counted for a version and role (flushes ingest to D1 first, then reads
   * `GET /v1/drift`'s `count`).
   */
  countRows(model: string, version: number, role?: "live" | "shadow"): Promise<number>;
  /**
   * Rows the collector counted for a version from `from` to `to` (ms since the epoch; reports an
   * app's clock dated ahead included), the rows reported as `dropped` and the error rate
   * (`GET /v1/drift`'s `count`, `GET /v1/stats`'s `errors.dropped` and `error_rate`, after a flush).
   */
  countedAndDropped(model: string, version: number, from: number, to: number): Promise<{ rows: number; dropped: number; errorRate: number }>;
  /** `GET /v1/drift` of a version (after a flush). */
  drift(model: string, version: number, role?: "live" | "shadow"): Promise<Record<string, unknown>>;
  /** Stops the collector, keeping its data, so a test can see clients go offline. */
  pause(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `fetch`, sent again (3 tries in all) when the connection closes before any answer: `wrangler
 * dev` on a loaded machine now and then closes a kept-alive connection as a request comes on it
 * (undici's UND_ERR_SOCKET "other side closed"; nothing reaches the Worker, nothing is in its
 * log: 11 of 24 report posts on these 2 cores under 3 busy loops). Browsers send such a request
 * again themselves; Node's fetch does not. Every call here may be repeated (reports carry ids).
 */
async function fetchAgain(url: string, init: RequestInit, tries = 3): Promise<Response> {
  for (let tried = 1; ; tried++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (tried >= tries || (err as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw err;
    }
  }
}

/**
 * Starts a collector on a free port with a fresh persist directory. Stop it in `afterAll`.
 *
 * @param persistTo - reuse a directory (to restart the same collector); a temp dir by default
 * @param vars - `[vars]` to override (e.g. `SENDER_BUDGET_PER_MINUTE`)
 */
export async function startTestCollector(persistTo?: string, vars: Record<string, string> = {}): Promise<TestCollector> {
  const dir = persistTo ?? mkdtempSync(join(tmpdir(), "driftline-collector-"));
  const adminKey = `adm_test_${Math.random().toString(36).slice(2)}`;
  let proc = await startCollector({ adminKey, persistTo: dir, vars });
  let paused = false;
  const url = proc.url;
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const isBytes = body instanceof Uint8Array;
    const res = await fetchAgain(url + path, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body !== undefined && { "content-type": isBytes ? "application/octet-stream" : "application/json" }),
      },
      body: body === undefined ? undefined : isBytes ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const drift = async (model: string, version: number, role = "live") => {
    await admin("POST", `/v1/reports/flush?model=${model}`);
    return admin<Record<string, unknown>>("GET", `/v1/drift?model=${model}&version=${version}&role=${role}`);
  };
  return {
    url: proc.url,
    adminKey,
    admin,
    async publish(bytes, manifest, app = "test") {
      await admin("PUT", `/v1/artifacts/${manifest.sha256}`, bytes);
      const v = await admin<{ version?: number; number?: number }>("POST", `/v1/models/${manifest.model}/versions`, { manifest, app });
      return (v.version ?? v.number)!;
    },
    async ingestKey(app = "test") {
      return (await admin<{ token: string }>("POST", "/v1/keys", { app, role: "ingest" })).token;
    },
    rollout: (model, change) => admin("PUT", `/v1/models/${model}/rollout`, change),
    async sendReports(ingest, reports, address) {
      const res = await fetchAgain(`${url}/v1/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${ingest}`, "content-type": "application/json", ...(address && { "CF-Connecting-IP": address }) },
        body: JSON.stringify({ reports }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST /v1/reports: ${res.status} ${text}`);
      return (JSON.parse(text) as { accepted: string[] }).accepted;
    },
    drift,
    async countRows(model, version, role = "live") {
      return ((await drift(model, version, role)) as { count: number }).count;
    },
    async countedAndDropped(model, version, from, to) {
      const range = `model=${model}&version=${version}&from=${from}&to=${to}`;
      await admin("POST", `/v1/reports/flush?model=${model}`);
      const { count } = await admin<{ count: number }>("GET", `/v1/drift?${range}`);
      const stats = await admin<{ errors: Record<string, number>; error_rate: number }>("GET", `/v1/stats?${range}`);
      return { rows: count, dropped: stats.errors.dropped ?? 0, errorRate: stats.error_rate };
    },
    async pause() {
      paused = true;
      await proc.stop();
    },
    async resume() {
      proc = await startCollector({ adminKey, persistTo: dir, port: proc.port, vars });
      paused = false;
    },
    async stop() {
      if (!paused) await proc.stop();
      if (!persistTo) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The SHA-256 of each optional module the collector serves at /sdk/ (dist/site/sdk/, from the
 * `npm run build` that runs before the tests), as scripts/build.mjs gives them to the runtime.
 */
function mediaHashesDefine(): string {
  const kinds = readdirSync(`${root}dist/site/sdk/`).flatMap((file) => /^driftline-(\w+)\.js$/.exec(file)?.[1] ?? []);
  return JSON.stringify(
    Object.fromEntries(
      kinds.map((kind) => [
        kind,
        createHash("sha256")
          .update(readFileSync(`${root}dist/site/sdk/driftline-${kind}.js`))
          .digest("hex"),
      ]),
    ),
  );
}

/**
 * The runtime (runtime/index.ts) bundled as one ESM file, built from the current code, with the
 * SHA-256 of the installed onnxruntime-web files (those the runtime page serves at /ort/) and of
 * the optional modules the collector serves.
 */
export async function bundleRuntime(): Promise<string> {
  const out = await build({
    entryPoints: [`${root}runtime/index.ts`],
    define: { __DRIFTLINE_ORT__: ortHashesDefine(), __DRIFTLINE_MEDIA__: mediaHashesDefine() },
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    external: ["onnxruntime-web"],
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}
