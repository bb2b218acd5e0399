import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { runCliProcess } from "./cli-process.ts";

/** A local collector in a temporary folder, with the CLI and the HTTP API pointed at it. */
export interface LocalCollector {
  /** The temporary folder (the collector's state is in `state/` under it). */
  dir: string;
  url: string;
  /** Runs `driftline …` as the admin; resolves to its stdout, rejects with its stderr. */
  cli(args: string[]): Promise<string>;
  /** One JSON request with `token`; rejects unless the answer is 2xx. */
  api<T = unknown>(method: string, path: string, token: string, body?: unknown): Promise<T>;
  /** Stops the collector and removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts the real collector (wrangler dev, local D1, R2 and Durable Objects) in a new temporary
 * folder, for tests that drive it with the CLI and the runtime.
 *
 * @param admin - the bootstrap admin key
 * @param prefix - the temporary folder's name prefix
 */
export async function startLocalCollector(admin: string, prefix: string): Promise<LocalCollector> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const collector = await startCollector({ adminKey: admin, persistTo: join(dir, "state") });
  return {
    dir,
    url: collector.url,
    async cli(args) {
      const { code, stdout, stderr } = await runCliProcess(args, { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: admin });
      if (code !== 0) throw new Error(`driftline ${args.join(" ")}: exit ${code}: ${stderr}`);
      return stdout;
    },
    async api<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
      const res = await fetch(`${collector.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    async stop() {
      await collector.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
