// The onnxruntime-web files the runtime loads from /sdk/ort/, and their SHA-256 fixed into each
// runtime build (runtime/ort-loader.ts refuses other bytes): used by scripts/build.mjs and by the
// test harness's runtime bundle.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { projectRoot } from "./root.mjs";

/** Where the installed onnxruntime-web keeps its browser files. */
export const ORT_DIST = `${projectRoot(import.meta.url)}node_modules/onnxruntime-web/dist`;

/**
 * Per build of onnxruntime-web the runtime may load: its module, the WebAssembly glue module it
 * imports, and the WebAssembly binary, in that order. `wasm` is the WASM-only build, `jspi` the
 * JSPI build with WebGPU (the asyncify one is over Workers' 25 MiB asset limit).
 */
export const ORT_BUILDS = {
  wasm: ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
  jspi: ["ort.jspi.min.mjs", "ort-wasm-simd-threaded.jspi.mjs", "ort-wasm-simd-threaded.jspi.wasm"],
};

/** Bytes per block of the WebAssembly binary's hash list (runtime/ort-loader.ts `BLOCK`). */
export const ORT_BLOCK = 1 << 20;

/**
 * The value of the runtime's `__DRIFTLINE_ORT__` (an esbuild `define`): per build, its file names
 * and one digest of their bytes in `dir`: the lowercase hex SHA-256 of the three files' hex
 * digests, joined (one 32-byte value per build keeps the runtime small). A module's digest is its
 * SHA-256; the WebAssembly binary's is the SHA-256 of the hex SHA-256 of each of its 1 MiB blocks,
 * joined (a hash list: the runtime hashes each block as it arrives).
 * @param {string} [dir] the folder holding the files
 * @returns {string} JSON
 */
export function ortHashesDefine(dir = ORT_DIST) {
  const sha = (/** @type {Buffer | string} */ bytes) => createHash("sha256").update(bytes).digest("hex");
  const blocks = (/** @type {Buffer} */ bytes) => {
    let joined = "";
    for (let at = 0; at < bytes.length; at += ORT_BLOCK) joined += sha(bytes.subarray(at, at + ORT_BLOCK));
    return sha(joined);
  };
  const digest = (/** @type {string[]} */ files) => sha(files.map((file, i) => (i === 2 ? blocks : sha)(readFileSync(`${dir}/${file}`))).join(""));
  return JSON.stringify(Object.fromEntries(Object.entries(ORT_BUILDS).map(([build, files]) => [build, { files, sha256: digest(files) }])));
}
