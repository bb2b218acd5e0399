import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import { download } from "./download.ts";
import type { ModelStore } from "./types.ts";

/** Whether this runs in Node (tests, simulators) rather than a browser. */
export const isNode = () => typeof document === "undefined" && typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * A URL to import a module of `code` from: a `blob:` URL in browsers; a `data:` URL in Node, which
 * imports no `blob:` URLs.
 *
 * @param code - the module's text or bytes
 */
export function moduleUrl(code: Uint8Array | string): string {
  if (!isNode()) return URL.createObjectURL(new Blob([code as BlobPart], { type: "text/javascript" }));
  const bytes = typeof code === "string" ? new TextEncoder().encode(code) : code;
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:text/javascript;base64,${btoa(binary)}`;
}

/** No optional module is near this size (the largest, `driftline-image.js`, is 5 KB). */
const MODULE_BYTES = 1 << 20;

/**
 * Imports the module at `url` only when `check` accepts its bytes: the bytes checked are the bytes
 * that run. The bytes kept in `store` under `key` are tried first, so a page that starts offline
 * still has the module; else they are downloaded (aborted once nothing arrives for `timeoutMs`, or
 * past {@link MODULE_BYTES}) and, once checked, kept.
 * Throws DriftlineError `download` when they cannot be fetched and `integrity` when the check
 * fails (nothing of it ran).
 *
 * @param url - where the module is
 * @param check - whether these bytes may run
 * @param timeoutMs - how long nothing may arrive
 * @param kept - where the module's bytes are kept (the `meta` area of the runtime's store)
 */
export async function importChecked<T>(url: string, check: (bytes: Uint8Array) => Promise<boolean>, timeoutMs: number, kept: { store: ModelStore; key: string }): Promise<T> {
  let bytes = await kept.store.get<Uint8Array>("meta", kept.key).catch(() => undefined);
  if (!(bytes instanceof Uint8Array && (await check(bytes)))) {
    try {
      bytes = await (await download(url, timeoutMs, MODULE_BYTES, (signal) => fetch(url, { signal }))).read();
    } catch (err) {
      throw isDriftlineError(err) ? err : new DriftlineError("download", (err as Error).message, err);
    }
    if (!(await check(bytes))) throw new DriftlineError("integrity", `${url}: not the module this runtime was built with`);
    await kept.store.put("meta", kept.key, bytes).catch(() => {});
  }
  return import(/* @vite-ignore */ moduleUrl(bytes));
}
