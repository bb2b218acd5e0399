// Web Locks where the runtime meets them (runtime/web-locks.ts): each runtime holds a lock of its
// own while it runs. A page whose origin is opaque (a sandboxed iframe, a `sandbox` CSP) has a
// `navigator.locks` whose every request is refused; IndexedDB is refused there too, and the
// runtime runs on its memory store, alone. (`cache: false`: with the default `cache: true` such a
// page fails sooner, reading Cache Storage for onnxruntime-web's files.)
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { ORT_BUILDS, ORT_DIST } from "../../scripts/lib/ort-files.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

/** The opaque-origin frame: starts a runtime with what its parent posts, predicts one row, answers the outcome. */
const SANDBOXED = `<!doctype html><meta charset="utf-8"><script type="module">
  import * as Driftline from "/cors/driftline.js";
  addEventListener("message", async ({ data: { options, row } }) => {
    const hung = new Promise((resolve) => setTimeout(() => resolve("createRuntime still pending after 20 s"), 20_000));
    const outcome = await Promise.race([
      Driftline.createRuntime(options).then(async (rt) => (await rt.predict(row), await rt.close(), "ok")),
      hung,
    ]).catch((err) => err.code + ": " + err.message);
    parent.postMessage({ outcome, origin: self.origin }, "*");
  });
  parent.postMessage("ready", "*");
</script>`;

const HOST = `<!doctype html><meta charset="utf-8"><script>
  window.answers = [];
  addEventListener("message", (e) => window.answers.push(e.data));
</script><iframe sandbox="allow-scripts" src="/sandboxed.html"></iframe>`;

describe("runtime: Web Locks", () => {
  let rig: RuntimeRig;
  let page: Page;
  let options: Record<string, unknown>;

  beforeAll(async () => {
    rig = await startRuntimeRig();
    const { bytes, manifest } = churnModel("locks");
    await rig.collector.publish(bytes, manifest);
    // an opaque origin's fetches and module imports are CORS requests (Origin: null)
    const cors = (body: Uint8Array | string, type: string) => (res: import("node:http").ServerResponse) => {
      res.writeHead(200, { "Content-Type": type, "Access-Control-Allow-Origin": "*" });
      res.end(body);
    };
    const bundle = await (await fetch(`${rig.server.url}/driftline.js`)).text();
    rig.server.set("/cors/driftline.js", cors(bundle, "text/javascript"));
    for (const file of ORT_BUILDS.wasm) rig.server.set(`/ort-cors/${file}`, cors(new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)), file.endsWith(".wasm") ? "application/wasm" : "text/javascript"));
    rig.server.set("/sandboxed.html", SANDBOXED, "text/html");
    rig.server.set("/host.html", HOST, "text/html");
    options = { collector: rig.collector.url, key: await rig.collector.ingestKey(), backend: "wasm", cache: false, push: false, ortUrl: `${rig.server.url}/ort-cors/`, model: "locks" };
    page = await rig.browser.context.newPage();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it("starts in a sandboxed iframe (an opaque origin, whose lock requests are all refused) and predicts", async () => {
    await page.goto(`${rig.server.url}/host.html`);
    await page.waitForFunction(() => (window as unknown as { answers: unknown[] }).answers.includes("ready"));
    await page.evaluate(({ options, row }) => document.querySelector("iframe")!.contentWindow!.postMessage({ options, row }, "*"), { options, row: churnRows(1)[0] });
    await page.waitForFunction(() => (window as unknown as { answers: unknown[] }).answers.length > 1, undefined, { timeout: 60_000 });
    const [, answer] = await page.evaluate(() => (window as unknown as { answers: unknown[] }).answers);
    expect(answer).toEqual({ outcome: "ok", origin: "null" });
  });
});
