// The project's root folder, found by walking up to Driftline's package.json, so that code works
// the same from its source file and from a bundle written elsewhere (node_modules/.cache).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding Driftline's package.json, with a trailing slash.
 * @param {string} from a file URL (import.meta.url) or path inside the project
 * @returns {string}
 */
export function projectRoot(from) {
  let dir = dirname(from.startsWith("file:") ? fileURLToPath(from) : from);
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "driftline") return `${dir}/`;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no Driftline package.json above ${from}`);
    dir = up;
  }
}
