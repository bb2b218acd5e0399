#!/usr/bin/env node
// The `driftline` command. Runs dist/cli.mjs; in a checkout (where cli/main.ts is), first
// (re)builds it with cli/build.mjs when it is missing or older than a source file of cli/ or
// protocol/. The packed CLI ships only this file and dist/cli.mjs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const here = new URL(".", import.meta.url).pathname;
const bundle = join(here, "dist/cli.mjs");

/**
 * Newest modification time of the .ts files under `dir`.
 * @param {string} dir
 * @returns {number}
 */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = entry.name === "node_modules" || entry.name === "dist" ? newest : Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

if (existsSync(join(here, "main.ts"))) {
  const sources = Math.max(newestSource(here), newestSource(join(here, "../protocol")));
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < sources) await (await import("./build.mjs")).buildCli();
}
// a reader that goes away (`driftline status churn | head -1`) ends the output, not the command
process.stdout.on("error", (err) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
