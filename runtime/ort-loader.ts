import { DriftlineError } from "../protocol/errors.ts";
import { sha256Hex } from "../protocol/hash.ts";
import { isNode, moduleUrl } from "./checked-import.ts";
import { download } from "./download.ts";

/** The onnxruntime-web module. */
export type Ort = typeof import("onnxruntime-web");

/**
 * Per onnxruntime-web build (`wasm`, `jspi`): its module, WebAssembly glue module and binary;
 * `modules`, the hex SHA-256 of the two modules' hex SHA-256 joined; `wasm`, the binary's hex
 * SHA-256; `bytes`, the size of its largest file (the binary). Fixed when the runtime is built (scripts/lib/ort-files.mjs).
 */
declare const __DRIFTLINE_ORT__: Record<"wasm" | "jspi", { files: string[]; modules: string; wasm: string; bytes: number }> | undefined;

const loading = new Map<string, Promise<Ort>>();
/** Loads started: each names its binary under a key of its own. */
let loads = 0;

/** The Cache Storage cache (of the page's origin) that keeps checked onnxruntime-web files. */
const KEPT = "driftline-ort";

/** One build's files and digests. */
type Build = NonNullable<typeof __DRIFTLINE_ORT__>["wasm"];

/**
 * Whether this platform can load the WebGPU build: an adapter API and JSPI (the WebGPU build
 * served here is the JSPI one; the asyncify one is too big for Workers static assets).
 */
export const canWebGpu = () => !isNode() && !!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu && "Suspending" in WebAssembly;

/** Per imported onnxruntime-web: its WebAssembly binary, compiled, once its digest holds. */
const binaries = new WeakMap<Ort, Promise<WebAssembly.Module>>();

/**
 * Whether onnxruntime-web's binary is the build's: resolves when it is (at once under Node),
 * rejects with DriftlineError `integrity` when it is not. {@link loadOrt} resolves before that is
 * known: a session created meanwhile waits for it, and fails when it does not hold.
 *
 * @param ort - an onnxruntime-web from {@link loadOrt}
 */
export const binaryChecked = (ort: Ort): Promise<unknown> => binaries.get(ort) ?? Promise.resolve();

/** How onnxruntime-web is loaded: whether its checked files are kept, and how long a download may stall. */
export interface OrtLoading {
  /** Keep the checked files on the device (the runtime's `cache` option). */
  cache: boolean;
  /** A download is aborted once nothing has arrived for this long. */
  timeoutMs: number;
}

/**
 * Imports onnxruntime-web once per build: in browsers from `base`, only bytes whose SHA-256 this
 * runtime was built with (the WASM-only build unless WebGPU is wanted); from the
 * `onnxruntime-web` package under Node. Rejects with DriftlineError `integrity` when a module's
 * bytes differ (nothing of it ran); a binary that differs is never instantiated, and
 * {@link binaryChecked} says so. With `cache`, the checked files are kept in the page's Cache
 * Storage, and later page loads start from them (checked again as they load); a storage that
 * fails is passed over.
 *
 * @param base - URL of the folder with `ort.*.min.mjs` and the wasm files
 * @param webgpu - whether the WebGPU execution provider is needed
 * @param how - whether to keep the files, and the downloads' stall limit
 */
export function loadOrt(base: string, webgpu: boolean, how: OrtLoading): Promise<Ort> {
  const dir = base.replace(/\/?$/, "/");
  const key = isNode() ? "node" : `${webgpu ? "jspi" : "wasm"} ${dir}`;
  let ort = loading.get(key);
  if (!ort) {
    const build = typeof __DRIFTLINE_ORT__ === "object" ? __DRIFTLINE_ORT__[webgpu ? "jspi" : "wasm"] : { files: [], modules: "", wasm: "", bytes: 0 };
    loading.set(key, (ort = key === "node" ? import("onnxruntime-web") : verifiedOrt(dir, build, how)));
    // a build that fails its checks is fetched again next time
    ort.then(binaryChecked).catch(() => loading.delete(key));
  }
  return ort;
}

/**
 * Loads one build's three files, from the copy kept on the device when there is one, else from
 * `base`, and runs only bytes whose digests are the build's: the modules from `blob:` URLs of the
 * checked bytes, ORT's own imported as soon as both are checked; the binary compiled and
 * instantiated through the glue's `instantiateWasm` hook once its digest holds. ORT starts up
 * meanwhile: its glue's factory waits for the checked binary. Compiling runs no code, so bytes
 * changed on the server (or in the page's storage) never run. A kept copy that does not check
 * (or cannot be read) is deleted, and the files are downloaded again.
 */
async function verifiedOrt(base: string, build: Build, how: OrtLoading): Promise<Ort> {
  const refuse = (): never => {
    throw new DriftlineError("integrity", `${base}: not the onnxruntime-web this runtime was built with`);
  };
  // within the stall limit, and no longer than the build's largest file
  const fetchFile = (file: string) => download(file, how.timeoutMs, build.bytes, (signal) => fetch(base + file, { signal }));
  const forget = () => caches.delete(KEPT).catch(() => false);
  const cache = how.cache && typeof caches === "object" ? await caches.open(KEPT).catch(() => undefined) : undefined;
  const name = (file: string) => `https://kept.invalid/${build.modules}/${build.wasm}/${file}`;
  const [mainFile, glueFile, wasmFile] = build.files as [string, string, string];
  // the binary is kept last: when it is there, the modules are too
  const keptBinary = await cache?.match(name(wasmFile)).catch(() => undefined);
  const kept = keptBinary ? cache : undefined;
  const fromServer = async () => {
    const { res, read } = await fetchFile(wasmFile);
    return { ...(await checkedBinary(res, read(res.clone().body), build.wasm, refuse)), fetched: true };
  };
  // two reads of the kept entry: the one above to the compiler, a second one hashed (a clone
  // would slow the compiler)
  const fromKept = async (first: Response, from: Cache) => checkedBinary(first, (await from.match(name(wasmFile)))!.arrayBuffer(), build.wasm, refuse);
  // a kept binary that does not check is deleted and downloaded again
  const binary: Promise<{ module: WebAssembly.Module; bytes: ArrayBuffer | Uint8Array<ArrayBuffer>; fetched?: boolean }> = kept
    ? fromKept(keptBinary!, kept).catch(() => forget().then(fromServer))
    : fromServer();
  const module = binary.then((b) => b.module);
  module.catch(() => {});
  const moduleBytes = async (file: string) => {
    const keptBytes = await kept
      ?.match(name(file))
      .then((res) => res?.arrayBuffer())
      .catch(() => undefined);
    if (keptBytes) return new Uint8Array(keptBytes);
    return (await fetchFile(file)).read();
  };
  const bytes = await Promise.all([mainFile, glueFile].map(moduleBytes));
  if ((await sha256Hex(new TextEncoder().encode((await Promise.all(bytes.map(sha256Hex))).join("")))) !== build.modules) {
    if (!kept) refuse();
    // kept modules that do not check: the kept copy is deleted, the files downloaded (and kept
    // again by the next page load)
    await forget();
    return verifiedOrt(base, build, { ...how, cache: false });
  }
  // downloaded files that check are kept for the next page load
  if (cache) void binary.then((b) => (b.fetched ? keepFiles(name, build.files, [...bytes, b.bytes]) : undefined)).catch(() => {});
  const ort = (await import(/* @vite-ignore */ moduleUrl(bytes[0]!))) as Ort;
  binaries.set(ort, module);
  // the glue's factory, once the binary is checked, given it: the wrapper finds it under a key of
  // this load's own (another load's binary may be refused)
  const key = `driftline:${build.wasm}:${++loads}`;
  (globalThis as Record<symbol, unknown>)[Symbol.for(key)] = module;
  // (an instantiation that fails, out of memory say, fails the factory: the glue would wait for good)
  const wrapper = `import f from "${moduleUrl(bytes[1]!)}";const m=globalThis[Symbol.for(${JSON.stringify(key)})];export default(o)=>m.then((m)=>new Promise((ok,no)=>f({...o,instantiateWasm:(i,done)=>(WebAssembly.instantiate(m,i).then((x)=>done(x,m),no),{})}).then(ok,no)))`;
  // the glue's URL stays valid: ORT's worker threads load it again
  ort.env.wasm.wasmPaths = { mjs: moduleUrl(wrapper) };
  return ort;
}

/**
 * The binary compiled as it streams in from `res` (as bare onnxruntime-web streams it) while
 * `bytes`, the same bytes read another way, are hashed. Bytes that are not the build's are refused
 * as such, even when they do not compile either.
 *
 * @param res - the binary, to the compiler
 * @param bytes - the same bytes (a clone of `res`, or a second read of a kept entry)
 * @param digest - the build's SHA-256 of them
 * @param refuse - throws the load's `integrity` error
 */
async function checkedBinary(
  res: Response,
  bytes: Promise<ArrayBuffer | Uint8Array<ArrayBuffer>>,
  digest: string,
  refuse: () => never,
): Promise<{ module: WebAssembly.Module; bytes: ArrayBuffer | Uint8Array<ArrayBuffer> }> {
  // the response itself streams fastest, unless the server named another content type
  const native = /^application\/wasm\b/.test(res.headers.get("content-type") ?? "");
  const compiled = WebAssembly.compileStreaming(native ? res : new Response(res.body, { headers: { "content-type": "application/wasm" } }));
  compiled.catch(() => {});
  const read = await bytes;
  if ((await sha256Hex(read)) !== digest) refuse();
  return { module: await compiled, bytes: read };
}

/**
 * Keeps a build's checked files (the binary last), then deletes older copies of the same files (a
 * page that uses both builds, WASM and WebGPU, keeps one of each).
 */
async function keepFiles(name: (file: string) => string, files: string[], bodies: BlobPart[]): Promise<void> {
  const cache = await caches.open(KEPT);
  for (let i = 0; i < files.length; i++) await cache.put(name(files[i]!), new Response(bodies[i], { headers: { "content-type": i === 2 ? "application/wasm" : "text/javascript" } }));
  for (const req of await cache.keys()) if (!req.url.startsWith(name("")) && files.some((file) => req.url.endsWith(`/${file}`))) await cache.delete(req);
}
