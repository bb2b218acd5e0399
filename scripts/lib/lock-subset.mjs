// A slice of the repository's package-lock.json: the entries that installing some of its packages
// needs, each at the path where the repository installs it. A lockfile made of them installs
// exactly the versions this repository is tested with, from the npm cache alone (a lockfile needs no
// registry metadata; a bare `npm install name@version` does, and `npm ci` never caches it).
import { readFileSync } from "node:fs";
import { projectRoot } from "./root.mjs";

/** @typedef {{ version?: string, link?: boolean, dependencies?: Record<string, string>, optionalDependencies?: Record<string, string>, peerDependencies?: Record<string, string>, peerDependenciesMeta?: Record<string, { optional?: boolean }>, dev?: boolean, devOptional?: boolean, peer?: boolean, optional?: boolean }} LockEntry */

/**
 * The lockfile entries (`packages` of lockfileVersion 3) that `names` and everything they depend
 * on need, resolved as Node does from each dependent's folder upwards.
 *
 * @param {string[]} names - packages the repository's lockfile installs at its top level
 * @returns {Record<string, LockEntry>} entries by path, with the repository's dev/peer flags dropped
 * @example lockSubset(["onnxruntime-web"]) // { "node_modules/onnxruntime-web": {…}, "node_modules/long": {…}, … }
 */
export function lockSubset(names) {
  /** @type {{ packages: Record<string, LockEntry> }} */
  const lock = JSON.parse(readFileSync(`${projectRoot(import.meta.url)}package-lock.json`, "utf8"));
  /** @type {Record<string, LockEntry>} */
  const out = {};
  /**
   * @param {string} from - the dependent's path ("" for the top level)
   * @param {string} name
   * @param {boolean} required
   */
  const visit = (from, name, required) => {
    let path;
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
      const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
      if (lock.packages[candidate]) {
        path = candidate;
        break;
      }
      if (!dir) break;
    }
    if (!path) {
      if (required) throw new Error(`package-lock.json has no ${name} for ${from || "the top level"}`);
      return;
    }
    if (out[path]) return;
    const { dev, devOptional, peer, ...entry } = /** @type {LockEntry} */ (lock.packages[path]);
    if (entry.link) throw new Error(`${name} is a workspace of this repository, not an installable package`);
    out[path] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, false);
    // npm installs peers too, but not optional ones
    for (const dep of Object.keys(entry.peerDependencies ?? {})) if (!entry.peerDependenciesMeta?.[dep]?.optional) visit(path, dep, true);
  };
  for (const name of names) visit("", name, true);
  return out;
}
