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

/**
 * The value of the runtime's `__DRIFTLINE_ORT__` (an esbuild `define`): per build, its file names,
 * `modules`: the lowercase hex SHA-256 of its two modules' hex SHA-256 joined (one value for both
 * keeps the runtime small), `wasm`: the WebAssembly binary's hex SHA-256, and `bytes`: the size of
 * its largest file (no download of the build may be longer); of the files in `dir`.
 * @param {string} [dir] the folder holding the files
 * @returns {string} JSON
 */
export function ortHashesDefine(dir = ORT_DIST) {
  const sha = (/** @type {Buffer | string} */ bytes) => createHash("sha256").update(bytes).digest("hex");
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(ORT_BUILDS).map(([build, files]) => {
        const contents = files.map((file) => readFileSync(`${dir}/${file}`));
        const [main, glue, wasm] = contents.map(sha);
        return [build, { files, modules: sha(`${main}${glue}`), wasm, bytes: Math.max(...contents.map((c) => c.length)) }];
      }),
    ),
  );
}
