// The demo `npm start` sets up on the local collector: two models trained on public data
// (demo/make-models.ts; the .onnx files and profiles are committed under demo/models/), each with
// v1 stable and v2 published for a canary, published with the real CLI, and keys for the demo app.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "./root.mjs";

const root = projectRoot(import.meta.url);
const run = promisify(execFile);

/**
 * @typedef {object} DemoModel
 * @property {string} name - the model's name on the collector
 * @property {string[]} labels - class labels, negative first
 * @property {Record<"v1" | "v2", string>} trainedOn - what each version was trained (and profiled) on, for people
 */

/** The demo app and its two models. */
export const DEMO = {
  app: "demo",
  /** @type {DemoModel[]} */
  models: [
    { name: "birdstrike-damage", labels: ["none", "damage"], trainedOn: { v1: "FAA strike reports 1990–1993", v2: "1994–1997" } },
    { name: "flight-delay", labels: ["on time", "late"], trainedOn: { v1: "US flights of January 2001", v2: "February 2001" } },
  ],
};

/**
 * The committed files of one demo model version.
 * @param {string} model
 * @param {"v1" | "v2"} version
 */
export function demoFiles(model, version) {
  const base = join(root, "demo/models", `${model}-${version}`);
  return { onnx: `${base}.onnx`, profile: `${base}.profile.json`, expected: `${base}.expected.json` };
}

/**
 * Runs the `driftline` CLI against `url` as `adminKey`; rejects with its stderr.
 * @param {string[]} args
 * @param {{ url: string, adminKey: string }} conn
 * @returns {Promise<string>} its stdout, trimmed
 */
export async function cli(args, { url, adminKey }) {
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
export async function api({ url, adminKey }, path, init = {}) {
  const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json", ...init.headers } });
  const body = await res.json();
  return { status: res.status, body };
}

/**
 * Publishes the demo models with their committed profiles (once: a model the collector has
 * already is left as it is; calibrated profiles make `driftline publish` ask for calibrated
 * verdicts) and makes fresh ingest and read keys for the demo app, revoking the ones an earlier
 * start made.
 * @param {{ url: string, adminKey: string }} conn
 * @param {(line: string) => void} say progress lines
 * @returns {Promise<{ ingestKey: string, readKey: string }>}
 */
export async function bootstrapDemo(conn, say) {
  // the keys first: publishing a first version then names the app's ingest key, rather than
  // telling the user to make one that npm start makes anyway
  const keys = await appKeys(conn, DEMO.app);
  for (const { name } of DEMO.models) {
    const existing = await api(conn, `/v1/models/${name}`);
    if (existing.status !== 404) {
      say(`the ${name} model is published already: ${existing.body.versions?.length ?? 0} versions`);
      continue;
    }
    for (const version of /** @type {const} */ (["v1", "v2"])) {
      const files = demoFiles(name, version);
      say(await cli(["publish", files.onnx, "--model", name, "--profile", files.profile, "--app", DEMO.app], conn));
    }
  }
  return keys;
}

/**
 * Fresh ingest and read keys for `app` labelled "npm start", revoking the ones an earlier call made.
 * @param {{ url: string, adminKey: string }} conn
 * @param {string} app
 * @returns {Promise<{ ingestKey: string, readKey: string }>}
 */
export async function appKeys(conn, app) {
  const keys = await api(conn, `/v1/keys?app=${app}`);
  for (const key of keys.body.keys ?? []) {
    if (key.label === "npm start" && !key.revokedAt) await api(conn, `/v1/keys/${key.id}`, { method: "DELETE" });
  }
  const ingest = await api(conn, "/v1/keys", { method: "POST", body: JSON.stringify({ app, role: "ingest", label: "npm start" }) });
  const read = await api(conn, "/v1/keys", { method: "POST", body: JSON.stringify({ app, role: "read", label: "npm start" }) });
  if (ingest.status !== 201 || read.status !== 201) throw new Error(`could not create keys for app ${app}: ${JSON.stringify(ingest.body)}`);
  return { ingestKey: ingest.body.token, readKey: read.body.token };
}
