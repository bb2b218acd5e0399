import { DriftlineError } from "../protocol/errors.ts";
import { sha256Hex } from "../protocol/hash.ts";
import { isNode, moduleUrl } from "./checked-import.ts";

/** The onnxruntime-web module. */
export type Ort = typeof import("onnxruntime-web");

/**
 * Per onnxruntime-web build (`wasm`, `jspi`): its module, WebAssembly glue module and binary, and
 * the hex SHA-256 of their hex digests joined (the binary's: of its 1 MiB blocks' SHA-256), fixed
 * when the runtime is built (scripts/lib/ort-files.mjs).
 */
declare const __DRIFTLINE_ORT__: Record<"wasm" | "jspi", { files: string[]; sha256: string }> | undefined;

/** Bytes per hashed block of the WebAssembly binary (scripts/lib/ort-files.mjs `ORT_BLOCK`). */
const BLOCK = 1 << 20;

/**
 * The digest of a stream as scripts/lib/ort-files.mjs computes it for the WebAssembly binary: the
 * hex SHA-256 of its 1 MiB blocks' hex SHA-256, joined. Each block is hashed as soon as it has
 * arrived, so little is left to hash after the last byte.
 */
async function blocksDigest(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const digests: Array<Promise<string>> = [];
  let block = new Uint8Array(BLOCK);
  let filled = 0;
  for (let chunk; !(chunk = await reader.read()).done; ) {
    for (let at = 0, bytes = chunk.value; at < bytes.length; ) {
      const n = Math.min(BLOCK - filled, bytes.length - at);
      block.set(bytes.subarray(at, (at += n)), filled);
      if ((filled += n) === BLOCK) digests.push(sha256Hex(block)), (block = new Uint8Array(BLOCK)), (filled = 0);
    }
  }
  if (filled) digests.push(sha256Hex(block.subarray(0, filled)));
  return sha256Hex(new TextEncoder().encode((await Promise.all(digests)).join("")));
}

const loading = new Map<string, Promise<Ort>>();

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
 * those bytes: the modules from `blob:` URLs of the checked bytes; the WebAssembly compiled while
 * it streams in (as bare onnxruntime-web would stream it), a clone of the response hashed block
 * by block beside the compiler, and instantiated only once the digest holds, handed to ORT
 * through its glue's `instantiateWasm` hook. A file changed on the server never runs: compiling
 * runs no code.
 */
async function verifiedOrt(base: string, webgpu: boolean): Promise<Ort> {
  const build = typeof __DRIFTLINE_ORT__ === "object" ? __DRIFTLINE_ORT__[webgpu ? "jspi" : "wasm"] : { files: [], sha256: "" };
  const get = async (file: string) => {
    const res = await fetch(base + file);
    if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
    return res;
  };
  const [main, glue, wasm] = build.files.map(get);
  // the same bytes to the compiler and to the hash (a module that fails to compile fails the
  // check); the response itself streams fastest, unless the server names another content type
  const res = await wasm!;
  const copy = res.clone();
  const native = /^application\/wasm\b/.test(res.headers.get("content-type") ?? "");
  const compiled = WebAssembly.compileStreaming(native ? res : new Response(res.body, { headers: { "content-type": "application/wasm" } }));
  compiled.catch(() => {});
  const wasmDigest = blocksDigest(copy.body!);
  wasmDigest.catch(() => {});
  const bytes = await Promise.all([main!, glue!].map(async (res) => new Uint8Array(await (await res).arrayBuffer())));
  const digests = await Promise.all([...bytes.map(sha256Hex), wasmDigest]);
  if ((await sha256Hex(new TextEncoder().encode(digests.join("")))) !== build.sha256) {
    throw new DriftlineError("integrity", `${base}: not the onnxruntime-web this runtime was built with`);
  }
  // the checked module loads while the compiler finishes
  const [module, ort] = await Promise.all([compiled, import(/* @vite-ignore */ moduleUrl(bytes[0]!)) as Promise<Ort>]);
  // the glue's factory, given the checked module: the wrapper finds it under a key of its own
  const key = `driftline:${build.sha256}`;
  (globalThis as Record<symbol, unknown>)[Symbol.for(key)] = module;
  const wrapper = `import f from "${moduleUrl(bytes[1]!)}";const m=globalThis[Symbol.for(${JSON.stringify(key)})];export default(o)=>f({...o,instantiateWasm:(i,done)=>(WebAssembly.instantiate(m,i).then((x)=>done(x,m)),{})})`;
  // the glue's URL stays valid: ORT's worker threads load it again
  ort.env.wasm.wasmPaths = { mjs: moduleUrl(wrapper) };
  return ort;
}
