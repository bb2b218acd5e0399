// Node 20 cannot run TypeScript: bundle a .ts entry with esbuild into node_modules/.cache so that
// ESM still resolves its npm packages from the project's node_modules.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { projectRoot } from "./root.mjs";

const root = projectRoot(import.meta.url);

/**
 * Bundles `entry` (a path relative to the project root) for Node; npm packages stay external.
 * @param {string} entry
 * @returns {Promise<string>} the path of the bundled .mjs file
 */
export async function bundleForNode(entry) {
  const dir = join(root, "node_modules/.cache/driftline");
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${basename(entry).replace(/\.ts$/, "")}-${entry.replace(/[^a-z0-9]+/gi, "_")}.mjs`);
  await build({ entryPoints: [join(root, entry)], outfile, bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", sourcemap: "inline", logLevel: "warning" });
  return outfile;
}
