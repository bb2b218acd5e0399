import { DriftlineError } from "../protocol/errors.ts";
import { sha256Hex } from "../protocol/hash.ts";

/** The onnxruntime-web module. */
export type Ort = typeof import("onnxruntime-web");

/**
 * Per onnxruntime-web build (`wasm`, `jspi`): its module, WebAssembly glue module and binary, and
 * the hex SHA-256 of their hex SHA-256 digests joined, fixed when the runtime is built
 * (scripts/lib/ort-files.mjs).
 */
declare const __DRIFTLINE_ORT__: Record<"wasm" | "jspi", { files: string[]; sha256: string }> | undefined;

const loading = new Map<string, Promise<Ort>>();
const isNode = () => typeof document === "undefined" && typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * Whether this platform can load the WebGPU build: an adapter API and JSPI (the WebGPU build
 * served here is the JSPI one; the asyncify one is too big for Workers static assets).
 */
export const canWebGpu = () => !isNode() && !!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu && "Suspending" in WebAssembly;

/**
 * Imports onnxruntime-web once per build: in browsers from `base`, only bytes whose SHA-256 this
 * runtime was built with (the WASM-only build unless WebGPU is wanted); from the
 * `onnxruntime-web` package under Node. Rejects with DriftlineError `integrity` when a file's
 * bytes differ: nothing of it ran.
 *
 * @param base - URL of the folder with `ort.*.min.mjs` and the wasm files
 * @param webgpu - whether the WebGPU execution provider is needed
 */
export function loadOrt(base: string, webgpu: boolean): Promise<Ort> {
  const dir = base.replace(/\/?$/, "/");
  const key = isNode() ? "node" : `${webgpu ? "jspi" : "wasm"} ${dir}`;
  let ort = loading.get(key);
  if (!ort) {
    loading.set(key, (ort = key === "node" ? import("onnxruntime-web") : verifiedOrt(dir, webgpu)));
    ort.catch(() => loading.delete(key));
  }
  return ort;
}

/**
 * Fetches one build's three files and checks them against the build-time digest, then runs only
 * those bytes: the modules from `blob:` URLs of the checked bytes, the WebAssembly from the
 * checked binary (`env.wasm.wasmBinary`), so a file changed on the server never runs.
 */
async function verifiedOrt(base: string, webgpu: boolean): Promise<Ort> {
  const build = typeof __DRIFTLINE_ORT__ === "object" ? __DRIFTLINE_ORT__[webgpu ? "jspi" : "wasm"] : { files: [], sha256: "" };
  const [main, glue, wasm] = await Promise.all(
    build.files.map(async (file) => {
      const res = await fetch(base + file);
      if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    }),
  );
  const digests = await Promise.all([main, glue, wasm].map((bytes) => (bytes ? sha256Hex(bytes) : "")));
  if (!wasm || (await sha256Hex(new TextEncoder().encode(digests.join("")))) !== build.sha256) {
    throw new DriftlineError("integrity", `${base}: not the onnxruntime-web this runtime was built with`);
  }
  const script = (bytes: Uint8Array) => URL.createObjectURL(new Blob([bytes as BufferSource], { type: "text/javascript" }));
  const ort = (await import(/* @vite-ignore */ script(main!))) as Ort;
  // the glue's URL stays valid: ORT's worker threads load it again
  ort.env.wasm.wasmPaths = { mjs: script(glue!) };
  ort.env.wasm.wasmBinary = wasm;
  return ort;
}
