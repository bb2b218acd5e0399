// `npm start`: the local collector on 127.0.0.1 with local D1 and R2, no Cloudflare account needed.
// Honours PORT (default 8787), DRIFTLINE_ADMIN_KEY (the bootstrap admin token; generated into
// .dev.vars and printed when not given) and DRIFTLINE_LOCAL_DIR (where the local storage and the
// collector's log are kept, default .wrangler), and passes the other settings of .dev.vars on to
// wrangler dev. Ctrl-C stops every process it started. DRIFTLINE_BUILT=1 (set by `npm test`,
// which has just built dist/) skips the build.
import { randomBytes } from "node:crypto";
import { join, relative, resolve } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { killOnExit, openLog, portFree, readDevVars, runScheduled, startCollector, writeAdminToken } from "./lib/collector-process.mjs";
import { DEMO, bootstrapDemo } from "./lib/demo.mjs";
import { bundleForNode } from "./lib/bundle-node.mjs";

const root = new URL("..", import.meta.url).pathname;
const devVarsPath = join(root, ".dev.vars");
const localDir = resolve(root, process.env.DRIFTLINE_LOCAL_DIR || ".wrangler");

/** The admin key: DRIFTLINE_ADMIN_KEY, else the one in .dev.vars, else a new one; written there when it is not. */
function resolveAdminKey() {
  const vars = readDevVars(devVarsPath);
  const given = process.env.DRIFTLINE_ADMIN_KEY;
  const key = given || vars.ADMIN_TOKEN || `adm_${randomBytes(24).toString("base64url")}`;
  const source = given ? "from DRIFTLINE_ADMIN_KEY" : vars.ADMIN_TOKEN ? "from .dev.vars" : "generated into .dev.vars";
  if (key !== vars.ADMIN_TOKEN) writeAdminToken(devVarsPath, key);
  return { key, source };
}

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a TCP port number, got "${process.env.PORT}"`);
  process.exit(2);
}

// before the build (half a minute), which would also reload the collector already running there
try {
  await portFree(port);
} catch (err) {
  console.error(`driftline: could not start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

const { key, source } = resolveAdminKey();
if (process.env.DRIFTLINE_BUILT !== "1") {
  console.log("driftline: building the runtime and the collector's static assets …");
  execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
}
console.log(`driftline: applying D1 migrations and starting the collector on 127.0.0.1:${port} …`);
/** @type {Array<() => Promise<void>>} */
const stops = [];
let stopping = false;
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log("\ndriftline: stopping …");
  for (const stop of stops.reverse()) await stop().catch(() => {});
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  const logPath = join(localDir, "collector.log");
  const collector = await startCollector({ port, adminKey: key, persistTo: join(localDir, "state"), devVars: devVarsPath, logFile: openLog(logPath) });
  stops.push(collector.stop);
  collector.exited.then((code) => {
    if (!stopping) {
      console.error(`driftline: the collector exited (${code})`);
      void shutdown(1);
    }
  });
  console.log(`driftline: collector up at ${collector.url} (its log: ${relative(root, logPath)})`);
  const conn = { url: collector.url, adminKey: key };
  const demo = await bootstrapDemo(conn, (text) => text.split("\n").forEach((line) => console.log(`driftline: ${line}`)));
  // wrangler dev has no cron: run the Worker's scheduled handler every minute, as Cloudflare would.
  const cron = setInterval(() => runScheduled(collector.url).catch((err) => console.error(`driftline: cron: ${err.message}`)), 60_000);
  stops.push(async () => clearInterval(cron));
  const simulator = spawn(process.execPath, [await bundleForNode("demo/simulator.ts"), "--url", collector.url, "--key", demo.ingestKey], { cwd: root, stdio: "inherit" });
  killOnExit(simulator, () => simulator.kill("SIGKILL"));
  stops.push(async () => {
    if (simulator.exitCode !== null) return;
    simulator.kill("SIGTERM");
    await new Promise((resolve) => simulator.once("exit", resolve));
  });
  const [birds, flights] = DEMO.models.map((m) => m.name);
  console.log(`
  Driftline collector  ${collector.url}
  health               ${collector.url}/healthz
  admin key            ${key}  (${source})
  demo app keys        ingest ${demo.ingestKey}
                       read   ${demo.readKey}
  dashboard            ${collector.url}/dashboard  (read key above; range "15 × 1 min")
  demo page            ${collector.url}/demo/?key=${demo.ingestKey}
  demo models          ${birds}, ${flights}: v1 stable, v2 published for a canary
  fleet simulator      replays FAA bird strikes 1990–2002 (a year per virtual minute) and 1 in 100
                       US flights of Jan–Jun 2001 (a month per 2 virtual minutes), once, on a
                       virtual clock 15× the wall clock: about a minute (docs/demo.md)

  Try:  export DRIFTLINE_URL=${collector.url} DRIFTLINE_ADMIN_KEY=${key}
        npx driftline drift ${birds} --since 5m      (the replay's last years)
        npx driftline status ${flights}
        npx driftline rollout ${flights} --canary 2 --percent 50

  Ctrl-C stops everything.
`);
} catch (err) {
  console.error(`driftline: could not start: ${err instanceof Error ? err.message : err}`);
  await shutdown(1);
}
