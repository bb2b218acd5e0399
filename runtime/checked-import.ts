import { DriftlineError } from "../protocol/errors.ts";
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

/**
 * Imports the module at `url` only when `check` accepts its bytes: the bytes checked are the bytes
 * that run. The bytes kept in `store` under `key` are tried first, so a page that starts offline
 * still has the module; else they are downloaded within `timeoutMs` and, once checked, kept.
 * Throws DriftlineError `download` when they cannot be fetched and `integrity` when the check
 * fails (nothing of it ran).
 *
 * @param url - where the module is
 * @param check - whether these bytes may run
 * @param timeoutMs - how long the download may take
 * @param kept - where the module's bytes are kept (the `meta` area of the runtime's store)
 */
export async function importChecked<T>(url: string, check: (bytes: Uint8Array) => Promise<boolean>, timeoutMs: number, kept: { store: ModelStore; key: string }): Promise<T> {
  let bytes = await kept.store.get<Uint8Array>("meta", kept.key).catch(() => undefined);
  if (!(bytes instanceof Uint8Array && (await check(bytes)))) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new DriftlineError("download", `${url}: ${(err as Error).message ?? err}`, err);
    }
    if (!(await check(bytes))) throw new DriftlineError("integrity", `${url}: not the module this runtime was built with`);
    await kept.store.put("meta", kept.key, bytes).catch(() => {});
  }
  return import(/* @vite-ignore */ moduleUrl(bytes));
}
