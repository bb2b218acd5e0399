#!/usr/bin/env node
// The `driftline` command. Runs dist/cli.mjs, first (re)building it from cli/ and protocol/ with
// esbuild when it is missing or older than a source file (a checkout has sources, a package only dist/).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = new URL("..", import.meta.url).pathname;
const bundle = join(root, "dist/cli.mjs");

/**
 * Newest modification time of the .ts files under `dir` (0 when there is no such folder).
 * @param {string} dir
 * @returns {number}
 */
function newestSource(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = Math.max(newestSource(join(root, "cli")), newestSource(join(root, "protocol")));
if (sources > 0 && (!existsSync(bundle) || statSync(bundle).mtimeMs < sources)) {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(root, "cli/main.ts")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "warning",
  });
}
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
