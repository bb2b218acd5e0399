// `npm test`: every suite (unit, worker in workerd, browser in headless Chromium) in one vitest run,
// then one plain line "N passed, N failed" summing all of them. Exits with vitest's exit code.
// Extra arguments go to vitest, e.g. `npm test -- --project unit`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureChromium } from "./lib/chromium.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const runsBrowser = !args.includes("--project") || args.some((a, i) => args[i - 1] === "--project" && a === "browser");
if (runsBrowser) ensureChromium();
// The collector serves the runtime build and onnxruntime-web files as static assets from dist/site/.
const built = spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
if (built.status !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(built.status ?? 1);
}

const outDir = mkdtempSync(join(tmpdir(), "driftline-test-"));
const jsonFile = join(outDir, "results.json");
const vitest = spawnSync(
  process.execPath,
  [join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${jsonFile}`, ...args],
  { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
);

let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(readFileSync(jsonFile, "utf8"));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
} catch {
  failed = 1; // vitest died before writing its report
}
rmSync(outDir, { recursive: true, force: true });
const code = vitest.status ?? 1;
if (code !== 0 && failed === 0) failed = 1; // a suite that failed to load counts as a failure
console.log(`${passed} passed, ${failed} failed`);
process.exit(code);
