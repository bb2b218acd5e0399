/** The onnxruntime-web module. */
export type Ort = typeof import("onnxruntime-web");

const loading = new Map<string, Promise<Ort>>();
const isNode = () => typeof document === "undefined" && typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * Whether this platform can load the WebGPU build: an adapter API and JSPI (the WebGPU build
 * served here is the JSPI one; the asyncify one is too big for Workers static assets).
 */
export const canWebGpu = () => !isNode() && !!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu && "Suspending" in WebAssembly;

/**
 * Imports onnxruntime-web once per build: from `base` in browsers (the WASM-only build unless
 * WebGPU is wanted), from the `onnxruntime-web` package under Node.
 *
 * @param base - URL of the folder with `ort.*.min.mjs` and the wasm files
 * @param webgpu - whether the WebGPU execution provider is needed
 */
export function loadOrt(base: string, webgpu: boolean): Promise<Ort> {
  const node = isNode();
  const url = node ? "onnxruntime-web" : `${base.replace(/\/?$/, "/")}ort.${webgpu ? "jspi" : "wasm"}.min.mjs`;
  let ort = loading.get(url);
  if (!ort) {
    loading.set(
      url,
      (ort = (import(/* @vite-ignore */ url) as Promise<Ort>).then((m) => {
        if (!node) m.env.wasm.wasmPaths = url.slice(0, url.lastIndexOf("/") + 1);
        return m;
      })),
    );
    ort.catch(() => loading.delete(url));
  }
  return ort;
}
