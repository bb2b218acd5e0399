/**
 * Inputs that are not tabular: images, audio and text (a manifest input's `media` entry), and plain
 * tensors the app passes as they are. Tabular apps ship only this loader and the hooks that call
 * it: what preprocesses and describes each medium is a module of its own (runtime/media/*.ts, built as
 * `driftline-<kind>.js`), which the app passes in `createRuntime({ media })` or the runtime imports
 * from the collector's `/sdk/` — only bytes whose SHA-256 this runtime was built with — when a
 * manifest first needs it. Prediction logging, which only apps with `logging: true` run, is such a
 * module too (`driftline-logging.js`).
 */
import { DriftlineError } from "../protocol/errors.ts";
import { sha256Hex } from "../protocol/hash.ts";
import { importChecked } from "./checked-import.ts";
import type { EncodeText, Manifest, MediaModules, MediaPlan, ModelStore } from "./types.ts";

/** Per module, the hex SHA-256 of its file as this runtime was built (scripts/build.mjs). */
declare const __DRIFTLINE_MEDIA__: Record<keyof MediaModules, string> | undefined;

const loaded = new Map<string, Promise<unknown>>();

/** Where the optional modules come from: the app's, else the collector's `/sdk/`. */
export interface ModuleSource {
  /** URL of the collector's `/sdk/` folder (see {@link sdkOf}). */
  sdk: string;
  /** Modules the app passed (`createRuntime({ media })`). */
  given: MediaModules | undefined;
  /** How long one module's download may take: the runtime's `timeoutMs`. */
  timeoutMs: number;
  /** Where downloaded modules are kept for pages that start offline (`meta`, `module:<kind>`). */
  store: ModelStore;
}

/**
 * The URL of a collector's `/sdk/` folder, where the optional modules and onnxruntime-web are.
 *
 * @param collector - the collector's base URL
 */
export const sdkOf = (collector: string) => `${collector.replace(/\/+$/, "")}/sdk/`;

/**
 * The module `kind`: the app's, else `driftline-<kind>.js` from the store or the `/sdk/` folder
 * (once per URL), checked against the digest fixed at build time. Throws DriftlineError `download` when it
 * cannot be had in time, `integrity` when the bytes differ and `unsupported` when this build has none.
 *
 * @param kind - which module
 * @param source - the app's modules, the `/sdk/` folder and the download's time limit
 */
export function mediaModule<K extends keyof MediaModules>(kind: K, { sdk, given, timeoutMs, store }: ModuleSource): Promise<NonNullable<MediaModules[K]>> {
  const own = given?.[kind];
  if (own) return Promise.resolve(own);
  const url = `${sdk}driftline-${kind}.js`;
  let module = loaded.get(url);
  if (!module) {
    const sha256 = typeof __DRIFTLINE_MEDIA__ === "object" ? __DRIFTLINE_MEDIA__[kind] : undefined;
    if (!sha256) return Promise.reject(new DriftlineError("unsupported", `${kind}: pass createRuntime({ media: { ${kind} } }) from "driftline/${kind}"`));
    const check = async (bytes: Uint8Array) => (await sha256Hex(bytes)) === sha256;
    loaded.set(url, (module = importChecked<{ default: unknown }>(url, check, timeoutMs, { store, key: `module:${kind}` }).then((m) => m.default)));
    module.catch(() => loaded.delete(url));
  }
  return module as Promise<NonNullable<MediaModules[K]>>;
}

/**
 * The media plan of a manifest, its modules loaded; undefined for a tabular model.
 *
 * @param manifest - the version's manifest
 * @param source - where its modules come from
 * @param encodeText - the app's text encoder, for text inputs
 */
export async function mediaPlan(manifest: Manifest, source: ModuleSource, encodeText?: EncodeText): Promise<MediaPlan | undefined> {
  const media = manifest.inputs.filter((i) => i.media);
  if (!media.length) return undefined;
  const modules = await Promise.all(media.map((input) => mediaModule(input.media!.kind, source)));
  return modules[0]!.plan(
    manifest,
    media.map((input, k) => modules[k]!.filler(input, encodeText)),
  );
}
