// The project's root folder, found by walking up to the package.json that declares the npm
// workspaces (runtime/, cli/, … have package.json files of their own), so that code works
// the same from its source file and from a bundle written elsewhere (node_modules/.cache).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding Driftline's root package.json (the one with `workspaces`), with a trailing slash.
 * @param {string} from a file URL (import.meta.url) or path inside the project
 * @returns {string}
 */
export function projectRoot(from) {
  let dir = dirname(from.startsWith("file:") ? fileURLToPath(from) : from);
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && "workspaces" in JSON.parse(readFileSync(pkg, "utf8"))) return `${dir}/`;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no Driftline package.json above ${from}`);
    dir = up;
  }
}
