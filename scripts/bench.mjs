// `npm run bench -- <name>`: runs test/bench/<name>/ (index.ts is bundled with esbuild first,
// index.mjs runs as is), prints its JSON and keeps it in test/bench/results/<name>.json (or
// <name>-<variant>.json when the JSON's `bench` field names a variant, e.g. fleet-day).
// Without a name, lists the benchmarks.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleForNode } from "./lib/bundle-node.mjs";

const root = new URL("..", import.meta.url).pathname;
const benchDir = join(root, "test/bench");
const names = readdirSync(benchDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "results")
  .map((d) => d.name);
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join("|")}>`);
  process.exit(name ? 2 : 0);
}

const script = join(benchDir, name, "index.mjs");
const entry = existsSync(script) ? script : await bundleForNode(`test/bench/${name}/index.ts`);
const run = spawnSync(process.execPath, [entry, ...process.argv.slice(3)], { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (run.status !== 0) process.exit(run.status ?? 1);
const json = JSON.parse(run.stdout);
mkdirSync(join(benchDir, "results"), { recursive: true });
const file = typeof json.bench === "string" && json.bench.startsWith(`${name}-`) ? json.bench : name;
writeFileSync(join(benchDir, "results", `${file}.json`), `${JSON.stringify(json, null, 2)}\n`);
console.log(JSON.stringify(json, null, 2));
