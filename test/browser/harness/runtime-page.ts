// A page that loads the current runtime build (bundled at test time) and onnxruntime-web from
// the static server, so tests call `window.Driftline.createRuntime` from `page.evaluate`.
import type { Page } from "playwright-core";
import { startStaticServer, type StaticServer } from "./static-server.ts";
import { bundleRuntime } from "./collector.ts";
import { projectRoot } from "../../../scripts/lib/root.mjs";

const root = projectRoot(import.meta.url);

const PAGE = `<!doctype html><meta charset="utf-8"><title>driftline runtime test</title>
<script type="module">
  import * as Driftline from "/driftline.js";
  window.Driftline = Driftline;
  window.importModule = (url) => import(url);
  window.keep = {};
  window.ready = true;
</script>`;

/**
 * Serves `/runtime.html`, `/driftline.js` (fresh bundle) and onnxruntime-web's dist twice: under
 * `/ort/` never cached (every page load downloads it), under `/ort-cached/` cached by the browser
 * for a year (as a CDN serving immutable files would).
 */
export async function startRuntimeServer(): Promise<StaticServer> {
  const ort = `${root}node_modules/onnxruntime-web/dist/`;
  return startStaticServer({ "/ort/": ort, "/ort-cached/": ort }, { "/runtime.html": { body: PAGE }, "/driftline.js": { body: await bundleRuntime() } }, ["/ort-cached/"]);
}

/**
 * Opens (or reloads) the runtime page and waits until `window.Driftline` is there.
 *
 * @param page - a page of the test browser
 * @param server - the runtime server
 */
export async function openRuntimePage(page: Page, server: StaticServer): Promise<void> {
  await page.goto(`${server.url}/runtime.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}

/**
 * Deletes the copy of an optional module (`driftline-<kind>.js`) the runtime keeps in the page's
 * IndexedDB (`meta`, `module:<kind>`), as on a device that never had it; nothing when the page's
 * origin has no runtime database yet.
 *
 * @param page - a page of the runtime server's origin
 * @param kind - the module: `image`, `logging` …
 */
export function forgetKeptModule(page: Page, kind: string): Promise<void> {
  return page.evaluate(
    (key) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open("driftline");
        // no database yet: nothing is kept (and none is made, which would leave it without stores)
        req.onupgradeneeded = () => req.transaction!.abort();
        req.onerror = () => (req.error?.name === "AbortError" ? resolve() : reject(req.error));
        req.onsuccess = () => {
          const tx = req.result.transaction("meta", "readwrite");
          tx.objectStore("meta").delete(key);
          tx.oncomplete = () => (req.result.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
    `module:${kind}`,
  );
}

/**
 * Opens the runtime page afresh, then createRuntime with `options`, one predict() of `row` and
 * close(): "ok", or the error as `code: message`, and how long it took in the page (ms).
 *
 * @param page - a page of the test browser
 * @param server - the runtime server
 * @param options - createRuntime's options
 * @param row - the row to predict
 */
export async function startAndPredict(page: Page, server: StaticServer, options: Record<string, unknown>, row: unknown): Promise<{ outcome: string; ms: number }> {
  await openRuntimePage(page, server);
  return page.evaluate(
    async ({ options, row }) => {
      const t = performance.now();
      let outcome = "ok";
      try {
        const rt = await window.Driftline.createRuntime(options as never);
        await rt.predict(row as never);
        await rt.close();
      } catch (err) {
        outcome = `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
      return { outcome, ms: performance.now() - t };
    },
    { options, row },
  );
}
