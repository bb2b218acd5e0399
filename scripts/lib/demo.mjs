// The demo `npm start` sets up on the local collector: the breast-cancer model (v1 stable, v2
// published for a canary), profiled and published with the real CLI, and keys for the demo app.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "./root.mjs";

const root = projectRoot(import.meta.url);
const run = promisify(execFile);

/** The demo model's name and app. */
export const DEMO = { model: "cancer", app: "demo", labels: "malignant,benign" };

/**
 * Runs the `driftline` CLI against `url` as `adminKey`; rejects with its stderr.
 * @param {string[]} args
 * @param {{ url: string, adminKey: string }} conn
 */
async function cli(args, { url, adminKey }) {
  try {
    const { stdout } = await run(process.execPath, [join(root, "cli/bin.js"), ...args], {
      cwd: root,
      env: { ...process.env, DRIFTLINE_URL: url, DRIFTLINE_ADMIN_KEY: adminKey },
    });
    return stdout.trim();
  } catch (err) {
    throw new Error(`driftline ${args[0]} failed: ${/** @type {{ stderr?: string }} */ (err).stderr?.trim() || err}`);
  }
}

/**
 * Calls the collector's API as the admin.
 * @param {{ url: string, adminKey: string }} conn
 * @param {string} path
 * @param {RequestInit} [init]
 */
async function api({ url, adminKey }, path, init = {}) {
  const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json", ...init.headers } });
  const body = await res.json();
  return { status: res.status, body };
}

/**
 * Profiles a demo model version into `dir`, unless a profile newer than the model is there.
 * @param {string} version
 * @param {string} dir
 * @param {{ url: string, adminKey: string }} conn
 */
async function profile(version, dir, conn) {
  const out = join(dir, `cancer-${version}.profile.json`);
  const model = join(root, `demo/model/cancer-${version}.onnx`);
  if (existsSync(out) && statSync(out).mtimeMs > statSync(model).mtimeMs) return out;
  await cli(["profile", "demo/data/train.csv", "--exclude", "diagnosis", "--model", model, "--labels", DEMO.labels, "-o", out], conn);
  return out;
}

/**
 * Publishes the demo model (once: a collector that has it already is left as it is) and makes
 * fresh ingest and read keys for the demo app, revoking the ones an earlier start made.
 * @param {{ url: string, adminKey: string }} conn
 * @param {(line: string) => void} say progress lines
 * @returns {Promise<{ ingestKey: string, readKey: string }>}
 */
export async function bootstrapDemo(conn, say) {
  const dir = join(root, ".wrangler/demo");
  mkdirSync(dir, { recursive: true });
  const existing = await api(conn, `/v1/models/${DEMO.model}`);
  if (existing.status === 404) {
    for (const version of ["v1", "v2"]) {
      say(`profiling and publishing demo/model/cancer-${version}.onnx …`);
      const file = await profile(version, dir, conn);
      say(await cli(["publish", `demo/model/cancer-${version}.onnx`, "--model", DEMO.model, "--profile", file, "--app", DEMO.app], conn));
    }
  } else {
    say(`the ${DEMO.model} model is published already: ${existing.body.versions?.length ?? 0} versions`);
  }
  const keys = await api(conn, `/v1/keys?app=${DEMO.app}`);
  for (const key of keys.body.keys ?? []) {
    if (key.label === "npm start" && !key.revokedAt) await api(conn, `/v1/keys/${key.id}`, { method: "DELETE" });
  }
  const ingest = await api(conn, "/v1/keys", { method: "POST", body: JSON.stringify({ app: DEMO.app, role: "ingest", label: "npm start" }) });
  const read = await api(conn, "/v1/keys", { method: "POST", body: JSON.stringify({ app: DEMO.app, role: "read", label: "npm start" }) });
  if (ingest.status !== 201 || read.status !== 201) throw new Error(`could not create demo keys: ${JSON.stringify(ingest.body)}`);
  return { ingestKey: ingest.body.token, readKey: read.body.token };
}
