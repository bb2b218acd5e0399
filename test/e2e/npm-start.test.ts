// `npm start` itself (scripts/start.mjs), as a newcomer runs it on a fresh clone: no local
// storage yet, the collector up, the demo published, the fleet simulator started; Ctrl-C then
// stops every process it started. Its storage and log go to a fresh folder (DRIFTLINE_LOCAL_DIR),
// not the checkout's .wrangler/.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/collector-process.mjs";

const root = new URL("../..", import.meta.url).pathname;

/** The processes whose command line names `text`. */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(text) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("npm start on a fresh clone", () => {
  // a folder that does not exist yet, as .wrangler/ in a fresh clone
  const parent = mkdtempSync(join(tmpdir(), "driftline-npm-start-"));
  const local = join(parent, "fresh", ".wrangler");
  let start: ChildProcess | undefined;

  afterAll(() => {
    start?.kill("SIGKILL");
    rmSync(parent, { recursive: true, force: true });
  });

  it("starts the collector, publishes the demo, prints its keys; Ctrl-C then stops every process it started", async () => {
    const port = await freePort();
    start = spawn(process.execPath, [join(root, "scripts/start.mjs")], { cwd: root, env: { ...process.env, PORT: String(port), DRIFTLINE_LOCAL_DIR: local }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    start.stdout!.on("data", (d) => (output += d));
    start.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => start!.once("exit", resolve));
    const ready = await Promise.race([new Promise<boolean>((resolve) => start!.stdout!.on("data", () => output.includes("Ctrl-C stops everything.") && resolve(true))), exited.then(() => false)]);
    expect(ready, output).toBe(true);

    const url = `http://127.0.0.1:${port}`;
    expect(output).toContain(`Driftline collector  ${url}`);
    expect(output).toMatch(/^driftline: birdstrike-damage is in app demo, which has 1 ingest key for its pages/m);
    const readKey = /read +(read_[A-Za-z0-9_-]+)/.exec(output)?.[1];
    expect(readKey, output).toBeDefined();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/dashboard/`)).status).toBe(200);
    const models = (await (await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${readKey}` } })).json()) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name).sort()).toEqual(["birdstrike-damage", "flight-delay"]);
    expect(readFileSync(join(local, "collector.log"), "utf8").length).toBeGreaterThan(0);
    expect(processesNaming(local).length).toBeGreaterThan(0);

    start.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(processesNaming(local)).toEqual([]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
