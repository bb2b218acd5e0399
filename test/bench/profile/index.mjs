// Benchmark of `driftline profile`: writes a 1,000,000-row × 30-feature CSV (29 numeric columns,
// one categorical), then times the real CLI over it, without and with a model, in child processes.
// Prints one JSON object. Run: npm run bench -- profile [rows]
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

const root = new URL("../../..", import.meta.url).pathname;
const rows = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "driftline-profile-bench-"));
const csv = join(dir, "train.csv");

async function writeCsv() {
  const out = createWriteStream(csv);
  const plans = ["basic", "pro", "team", "enterprise"];
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  out.write(`${[...Array.from({ length: 29 }, (_, i) => `f${i}`), "plan"].join(",")}\n`);
  let buffer = "";
  for (let r = 0; r < rows; r++) {
    let line = "";
    for (let c = 0; c < 29; c++) line += `${(random() * 100 + c).toFixed(3)},`;
    buffer += `${line + plans[Math.floor(random() * 4)]}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
}

/** A 30-input, 2-class dense model written with the test fixture builder (bundled in by esbuild). */
async function writeModel() {
  const { build } = await import("esbuild");
  // Inside the project, so that ESM finds onnx-proto in node_modules.
  const script = join(root, "node_modules/.cache/driftline-bench/profile-model.mjs");
  await build({
    stdin: {
      contents: `import { writeFileSync } from "node:fs"; import { buildDenseClassifier } from "./test/fixtures/onnx-models.ts";
        const weights = Array.from({ length: 30 }, (_, i) => [Math.sin(i) * 0.01, Math.cos(i) * 0.01]);
        writeFileSync(process.argv[2], buildDenseClassifier({ weights, bias: [0, 0.1] }));`,
      resolveDir: root,
      loader: "ts",
    },
    outfile: script,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  spawnSync(process.execPath, [script, join(dir, "model.onnx")], { cwd: root, stdio: "inherit" });
}

/**
 * Runs `driftline profile` on the CSV and answers its wall time in seconds.
 * @param {string[]} args
 */
function timeCli(args) {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [join(root, "cli/bin.js"), "profile", csv, ...args], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`driftline profile failed: ${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

process.stderr.write(`writing ${rows} rows …\n`);
await writeCsv();
await writeModel();
timeCli(["-o", join(dir, "warm.json")]); // builds cli/dist/cli.mjs if needed, warms the page cache
const seconds = timeCli(["-o", join(dir, "p.json")]);
const withModel = timeCli(["-o", join(dir, "pm.json"), "--model", join(dir, "model.onnx"), "--labels", "no,yes"]);
console.log(
  JSON.stringify({
    rows,
    features: 30,
    csvBytes: statSync(csv).size,
    profileSeconds: +seconds.toFixed(2),
    profileWithModelSeconds: +withModel.toFixed(2),
    rowsPerSecond: Math.round(rows / seconds),
    targetSeconds: 60,
  }),
);
rmSync(dir, { recursive: true, force: true });
