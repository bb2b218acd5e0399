// Starts and stops a local collector: `wrangler dev` on 127.0.0.1 with local D1 and R2.
// Used by `npm start`, the browser tests and the benchmarks, so all three run the same thing.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { projectRoot } from "./root.mjs";

const root = projectRoot(import.meta.url);
const wranglerBin = join(root, "node_modules/wrangler/bin/wrangler.js");

/**
 * Environment that keeps wrangler offline, quiet and out of ~/.config.
 * @param {Record<string, string>} [extra] more variables
 * @param {{ inspector?: boolean }} [options] `inspector`: keep wrangler's DevTools inspector on
 */
export function wranglerEnv(extra = {}, { inspector = false } = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_LOG_SANITIZE: "true",
    XDG_CONFIG_HOME: join(root, ".wrangler/config"),
    CI: "true",
    // wrangler's DevTools inspector proxy answers busy requests "503 worker restarted
    // mid-request" under load (docs/scale.md); this variable is how wrangler's CLI turns it off
    ...(inspector ? {} : { VSCODE_INSPECTOR_OPTIONS: "1" }),
    ...extra,
  };
}

/** Resolves to a TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * An append stream to the log file `path`, its folder made first: `npm start` opens
 * `.wrangler/collector.log` before anything else has made `.wrangler/` in a fresh clone.
 * @param {string} path
 */
export function openLog(path) {
  mkdirSync(dirname(path), { recursive: true });
  return createWriteStream(path, { flags: "a" });
}

/**
 * Kills a child when this process exits, whatever makes it exit (an uncaught error included: Node
 * emits `exit` then too), until the child has exited by itself. A crashed `npm start` left the
 * `wrangler d1 migrations apply` it had started running, at 95 % CPU and growing past 4 GB.
 * @param {import("node:child_process").ChildProcess} child
 * @param {() => void} kill sends the signal (synchronously: `exit` handlers cannot wait)
 */
export function killOnExit(child, kill) {
  const onExit = () => {
    try {
      kill();
    } catch {
      /* gone already */
    }
  };
  process.once("exit", onExit);
  child.once("exit", () => process.off("exit", onExit));
}

/**
 * Runs `wrangler <args>` to completion; rejects with its output when it fails.
 * @param {string[]} args
 * @param {{ quiet?: boolean }} [options]
 */
export function runWrangler(args, { quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], {
      cwd: root,
      env: wranglerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    killOnExit(child, () => child.kill("SIGKILL"));
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
      if (!quiet) process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      output += d;
      if (!quiet) process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(output) : reject(new Error(`wrangler ${args.join(" ")} exited ${code}:\n${output}`))));
  });
}

/**
 * Applies the D1 migrations to the local database kept under `persistTo`.
 * @param {string} persistTo
 */
export function applyLocalMigrations(persistTo) {
  return runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
}

/**
 * Polls `url` until it answers 200 or `timeoutMs` passes.
 * @param {string} url
 * @param {number} timeoutMs
 * @param {() => string | undefined} [failed] returns a reason when the server died meanwhile
 */
export async function waitForHttp(url, timeoutMs, failed = () => undefined) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

/**
 * The KEY=VALUE lines of a `.dev.vars` file (quotes around a value dropped), none when it is missing.
 * @param {string} path
 * @returns {Record<string, string>}
 */
export function readDevVars(path) {
  if (!existsSync(path)) return {};
  return Object.fromEntries(
    readFileSync(path, "utf8")
      .split("\n")
      .map((line) => line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

/**
 * Sets the `ADMIN_TOKEN` line of the `.dev.vars` at `path` (first; the file made, mode 600, when
 * missing), leaving every other line as it is: settings, their quotes and comments.
 * @param {string} path
 * @param {string} key
 */
export function writeAdminToken(path, key) {
  const others = existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => !/^\s*ADMIN_TOKEN\s*=/.test(line))
    : [];
  writeFileSync(path, `${[`ADMIN_TOKEN=${key}`, ...others].join("\n").replace(/\n*$/, "")}\n`, { mode: 0o600 });
}

/**
 * Starts a local collector and resolves once `GET /healthz` answers 200.
 * `--test-scheduled` exposes `GET /__scheduled`, which runs the cron handler: wrangler dev has
 * no cron of its own, so `npm start` calls it every minute (see {@link runScheduled}).
 * `config` runs another wrangler config than wrangler.toml (in the project root, so its relative
 * paths hold): for settings `--var` cannot change, such as `[[ratelimits]]` limits.
 * `inspectorPort` turns wrangler's DevTools inspector on there (for CPU profiles: `npm run bench --
 * fleet --profile`).
 * `devVars` names a `.dev.vars` whose settings (every line but `ADMIN_TOKEN`, which `adminKey`
 * gives) reach the Worker as `--var` (`vars` wins over them): as wrangler.toml declares
 * `[secrets]`, wrangler dev itself takes only the required secrets from `.dev.vars`.
 * @param {{ port?: number, adminKey: string, persistTo: string, logFile?: import("node:stream").Writable, inheritOutput?: boolean, vars?: Record<string,string>, devVars?: string, config?: string, inspectorPort?: number }} options
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void>, exited: Promise<number | null> }>}
 */
export async function startCollector(options) {
  // before its storage is touched: the server there may be a collector on the same storage
  if (options.port !== undefined) await portFree(options.port);
  mkdirSync(options.persistTo, { recursive: true });
  await applyLocalMigrations(options.persistTo);
  // a port found free can be taken by another process before wrangler binds it: then another
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchCollector(options, options.port ?? (await freePort()));
    } catch (err) {
      if (options.port !== undefined || attempt === 3 || !String(err).includes("Address already in use")) throw err;
    }
  }
}

/**
 * Rejects when something listens on 127.0.0.1:`port` already: wrangler dev would fail to bind it
 * while that other server's /healthz answered for it, and `npm start` went on against it.
 * @param {number} port
 * @returns {Promise<void>}
 */
export function portFree(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (/** @type {NodeJS.ErrnoException} */ err) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`127.0.0.1:${port} is in use already: stop what listens there (another npm start?) or choose another port (PORT=${port === 65535 ? 8788 : port + 1} npm start)`)
          : err,
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

/**
 * One `wrangler dev` of {@link startCollector} on `chosenPort`.
 * @param {Parameters<typeof startCollector>[0]} options
 * @param {number} chosenPort
 * @returns {ReturnType<typeof startCollector>}
 */
async function launchCollector({ adminKey, persistTo, logFile, inheritOutput = false, vars = {}, devVars, config, inspectorPort }, chosenPort) {
  const settings = Object.entries(devVars ? readDevVars(devVars) : {}).filter(([k]) => k !== "ADMIN_TOKEN");
  const varArgs = Object.entries({ ADMIN_TOKEN: adminKey, ...Object.fromEntries(settings), ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(chosenPort),
      "--persist-to",
      persistTo,
      "--inspector-port",
      String(inspectorPort ?? 0),
      "--show-interactive-dev-session=false",
      "--test-scheduled",
      ...(config ? ["--config", config] : []),
      ...varArgs,
    ],
    { cwd: root, env: wranglerEnv({}, { inspector: inspectorPort !== undefined }), stdio: ["ignore", inheritOutput ? "inherit" : "pipe", inheritOutput ? "inherit" : "pipe"], detached: true },
  );
  // its own process group (detached): wrangler dev and the workerd it starts
  killOnExit(child, () => process.kill(-(/** @type {number} */ (child.pid)), "SIGKILL"));
  let output = "";
  if (!inheritOutput) {
    const sink = (/** @type {Buffer} */ d) => {
      output = (output + d).slice(-20_000);
      logFile?.write(d);
    };
    child.stdout?.on("data", sink);
    child.stderr?.on("data", sink);
  }
  /** @type {number | null | undefined} */
  let exitCode;
  const exited = new Promise((resolve) =>
    child.on("exit", (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const stop = async () => {
    if (exitCode !== undefined) return;
    try {
      process.kill(-(/** @type {number} */ (child.pid)), "SIGTERM");
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(/** @type {number} */ (child.pid)), "SIGKILL");
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${chosenPort}`;
  try {
    await waitForHttp(`${url}/healthz`, 60_000, () => (exitCode !== undefined ? `wrangler dev exited ${exitCode}:\n${output}` : undefined));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port: chosenPort, stop, exited };
}

/**
 * Runs the collector's cron handler once (alerts, auto-rollback, retention), as Cloudflare's
 * cron trigger does every minute in production.
 * @param {string} url the collector
 */
export async function runScheduled(url) {
  const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
  await res.text();
  if (!res.ok) throw new Error(`the scheduled handler answered ${res.status}`);
}
