// `npm test`: every suite (unit, worker in workerd, browser in headless Chromium) in one vitest run,
// and the CHECKS below, then one plain line "N passed, N failed" summing all of them. Exits with
// vitest's exit code, or 1 when a check failed. Extra arguments go to vitest and skip the checks,
// e.g. `npm test -- --project unit`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureChromium } from "./lib/chromium.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);

/**
 * Checks of the whole tree beside the tests, each counted as one test: root package.json scripts,
 * which run on their own too (`npm run lint` after a reformat with `npx biome check --write`).
 */
const CHECKS = [
  { script: "typecheck", what: "types of every part, strict (tsc: tsconfig.json and collector/tsconfig.json)" },
  { script: "deps", what: "dependencies: each workspace declares what it imports and imports what it declares (knip, knip.jsonc)" },
  { script: "lint", what: "lint and format of every source file (biome check, biome.jsonc)" },
];
/** @type {string[]} */
const failedChecks = [];
if (args.length === 0) {
  for (const { script, what } of CHECKS) {
    console.log(`\n▶ npm run ${script}: ${what}`);
    const check = spawnSync("npm", ["run", "--silent", script], { cwd: root, stdio: "inherit" });
    console.log(check.status === 0 ? `✓ npm run ${script}` : `✗ npm run ${script} (exit ${check.status ?? check.signal})`);
    if (check.status !== 0) failedChecks.push(script);
  }
}
const checksPassed = (args.length === 0 ? CHECKS.length : 0) - failedChecks.length;
const runsBrowser = !args.includes("--project") || args.some((a, i) => args[i - 1] === "--project" && a === "browser");
if (runsBrowser) ensureChromium();
// The collector serves the runtime build and onnxruntime-web files as static assets from dist/site/.
const built = spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
if (built.status !== 0) {
  console.log(`${checksPassed} passed, ${1 + failedChecks.length} failed`);
  process.exit(built.status ?? 1);
}

const outDir = mkdtempSync(join(tmpdir(), "driftline-test-"));
const jsonFile = join(outDir, "results.json");
const vitest = spawnSync(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${jsonFile}`, ...args], {
  cwd: root,
  stdio: "inherit",
  // DRIFTLINE_BUILT: the browser tests' global setup need not build dist/site again
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", DRIFTLINE_BUILT: "1" },
});

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
if (failedChecks.length > 0) console.log(`failed checks: ${failedChecks.map((script) => `npm run ${script}`).join(", ")}`);
console.log(`${passed + checksPassed} passed, ${failed + failedChecks.length} failed`);
process.exit(code !== 0 ? code : failedChecks.length > 0 ? 1 : 0);
