// Runs the demo's fleet simulator (demo/simulator.ts, bundled as npm start runs it) against a
// collector and reads what it says about each data period it replayed.
import { spawn } from "node:child_process";
import { bundleForNode } from "../../scripts/lib/bundle-node.mjs";

const root = new URL("../..", import.meta.url).pathname;

/** One data period as the simulator replayed it (its `simulator: period {…}` line). */
export interface Period {
  model: string;
  /** e.g. "1994" or "2001-03" */
  period: string;
  /** Virtual-clock range (epoch ms, whole minutes) its reports are filed in. */
  from: number;
  to: number;
  rows: number;
  /** Share of the positive class ("damage", "late") among its rows. */
  positiveShare: number;
  /** The simulator's own accuracy of its predictions against the labels. */
  accuracy: number;
}

/** A running simulator. */
export interface Fleet {
  /** Periods finished so far, in the order they finished. */
  periods(): Period[];
  /** Everything it printed. */
  output(): string;
  /** Resolves with its exit code when it ends. */
  exited: Promise<number | null>;
  /** Its exit code, null while it runs. */
  exitCode(): number | null;
  /** Stops it (SIGTERM) unless it has ended, and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts the simulator with `args` after `--url` and `--key`.
 *
 * @param url - the collector
 * @param ingestKey - an ingest key of the demo app
 * @param args - more simulator options, e.g. `["--speed", "30"]`
 */
export async function startFleet(url: string, ingestKey: string, args: string[] = []): Promise<Fleet> {
  const child = spawn(process.execPath, [await bundleForNode("demo/simulator.ts"), "--url", url, "--key", ingestKey, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout.on("data", (d: Buffer) => (text += d));
  child.stderr.on("data", (d: Buffer) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    periods: () => [...text.matchAll(/^simulator: period (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as Period),
    output: () => text,
    exited,
    exitCode: () => child.exitCode,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
