// For benchmarks: the collector's API answered from the runtime page's own static server, so a
// run times the runtime and the model, not a collector. A model is "published" by serving its
// assignment at /{model}.json and its bytes at /{sha256}.onnx; the page's `window.bench.transport`
// maps the runtime's requests there and accepts every report.
import type { StaticServer } from "./static-server.ts";
import type { Transport } from "../../../runtime/types.ts";

declare global {
  interface Window {
    /** Set by {@link LOCAL_COLLECTOR_SCRIPT}: pass `transport` to createRuntime with `collector: location.origin`. */
    bench: { transport: Transport; local(url: string): string };
  }
}

/**
 * An init script for the page (`page.addInitScript({ content })`) that defines `window.bench`.
 * It also defines `__name`: bundlers that keep names (esbuild keepNames, tsx) make functions sent
 * to the page call it.
 */
export const LOCAL_COLLECTOR_SCRIPT = `
window.__name = (f) => f;
window.bench = {
  local: (url) => {
    const u = new URL(url);
    return u.pathname === "/v1/assignment" ? "/" + u.searchParams.get("model") + ".json" : "/" + u.pathname.split("/").pop() + ".onnx";
  },
  transport: {
    fetch: async (url, init) => (url.includes("/v1/reports") ? new Response('{"accepted":1,"rejected":[]}') : fetch(window.bench.local(url), { ...init, body: undefined })),
    beacon: () => true,
  },
};`;

/**
 * Publishes a model on the page's server as version 1, sample rate 1: its assignment (the
 * manifest without the reference profile, as clients get it) and its bytes.
 *
 * @param server - the runtime page's server
 * @param name - the model name the runtime asks for
 * @param manifest - the model's manifest (a `profile` in it is left out)
 * @param bytes - the model file, whose SHA-256 the manifest names
 */
export function serveModel(server: StaticServer, name: string, manifest: { sha256: string; profile?: unknown }, bytes: Uint8Array): void {
  const { profile: _profile, ...clientManifest } = manifest;
  server.set(`/${manifest.sha256}.onnx`, bytes);
  server.set(`/${name}.json`, JSON.stringify({ model: name, version: 1, manifest: { ...clientManifest, version: 1 }, sampleRate: 1, configVersion: 1 }));
}
