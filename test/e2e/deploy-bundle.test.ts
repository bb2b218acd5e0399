// What `npm run deploy -w collector` uploads, checked without an account: `wrangler deploy
// --dry-run` bundles the Worker as a deploy would and lists its bindings, and the static assets
// (dist/site, `npm run build`) are checked against Cloudflare's limits for Workers with assets
// (https://developers.cloudflare.com/workers/platform/limits/): a Worker of at most 3 MB
// compressed on the Free plan (10 MB on Paid), at most 20,000 asset files of at most 25 MiB each.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Every file under `dir`, with its size. */
function filesUnder(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { path: path.slice(dir.length + 1), size: statSync(path).size };
    });
}

describe("the deploy bundle", () => {
  let out: string;
  let printed: string;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "driftline-deploy-"));
    // dist/site, the assets, is `npm run build`'s (npm test builds it first; no test rebuilds what
    // other files' collectors are serving)
    if (!existsSync(join(root, "dist/site/sdk/driftline.js"))) throw new Error("dist/site is not built: npm run build");
    const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
    const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" };
    printed = (await run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", out], { cwd: root, env, maxBuffer: 16 * MiB })).stdout;
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("bundles the Worker within the Free plan's 3 MB, with every binding the collector reads", () => {
    const worker = readFileSync(join(out, "index.js"));
    expect(gzipSync(worker).length).toBeLessThan(3 * 1000 * 1000);
    for (const binding of [
      "env.AGGREGATOR (ModelAggregator)",
      "env.ROLLOUT_CHANNEL (RolloutChannel)",
      "env.EVALUATOR (ModelEvaluator)",
      "env.DB (driftline)",
      "env.ARTIFACTS (driftline-artifacts)",
      "env.CLIENT_IP_RATE_LIMIT",
      "env.INGEST_KEY_RATE_LIMIT",
    ]) {
      expect(printed, binding).toContain(binding);
    }
  });

  it("ships assets within the limits of a Worker with static assets", () => {
    const assets = filesUnder(join(root, "dist/site"));
    expect(assets.length).toBeLessThanOrEqual(20_000);
    expect(assets.filter((f) => f.size > 25 * MiB)).toEqual([]);
    // what a page loads: the runtime, onnxruntime-web's module and binary, the dashboard
    const names = assets.map((f) => f.path);
    for (const path of ["sdk/driftline.js", "sdk/ort/ort-wasm-simd-threaded.wasm", "dashboard/index.html"]) expect(names, path).toContain(path);
  });
});
