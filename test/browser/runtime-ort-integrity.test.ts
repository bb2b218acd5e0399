// Issue 13 item 6: the runtime runs only the onnxruntime-web files its build was made with. Served
// with one file altered — the module, its WebAssembly glue module, or one byte of the WebAssembly
// binary — createRuntime rejects with `integrity` and the altered code never ran (the altered
// modules would count themselves in `window.tampered`); the same files unaltered run.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { ORT_BUILDS, ORT_DIST } from "../../scripts/lib/ort-files.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

/** Code appended to an altered module: it would count itself if it ever ran. */
const MARK = "\n;globalThis.tampered = (globalThis.tampered ?? 0) + 1;\n";

describe("runtime: onnxruntime-web's files are the build's or nothing runs", () => {
  let rig: RuntimeRig;
  let page: Page;
  let options: Record<string, unknown>;

  /** Serves the WASM build's three files under `/{prefix}/`, `alter` applied to the one named. */
  function serveOrt(prefix: string, altered?: string, alter?: (bytes: Uint8Array) => Uint8Array) {
    for (const file of ORT_BUILDS.wasm) {
      const bytes = new Uint8Array(readFileSync(`${ORT_DIST}/${file}`));
      rig.server.set(`/${prefix}/${file}`, file === altered ? alter!(bytes) : bytes);
    }
  }

  /** A fresh page's createRuntime with onnxruntime-web from `/{prefix}/`: its error code (or "ok") and the altered code's runs. */
  async function start(prefix: string) {
    await openRuntimePage(page, rig.server);
    return page.evaluate(
      async ({ o, row }) => {
        let outcome = "ok";
        try {
          const rt = await window.Driftline.createRuntime(o as never);
          await rt.predict(row as never);
          await rt.close();
        } catch (err) {
          outcome = `${(err as { code?: string }).code}: ${(err as Error).message}`;
        }
        return { outcome, tampered: (globalThis as { tampered?: number }).tampered ?? 0 };
      },
      { o: { ...options, ortUrl: `${rig.server.url}/${prefix}/` }, row: churnRows(1)[0] },
    );
  }

  beforeAll(async () => {
    rig = await startRuntimeRig();
    const { bytes, manifest } = churnModel("ort-integrity");
    await rig.collector.publish(bytes, manifest);
    options = { collector: rig.collector.url, key: await rig.collector.ingestKey(), model: "ort-integrity", backend: "wasm", cache: false };
    page = await rig.browser.context.newPage();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it("runs the build's files", async () => {
    serveOrt("same");
    expect(await start("same")).toEqual({ outcome: "ok", tampered: 0 });
  });

  // the binary streams to the compiler as served when it is `application/wasm`, else retyped
  it("runs the build's files with the WebAssembly served under another content type", async () => {
    serveOrt("untyped");
    const file = ORT_BUILDS.wasm[2]!;
    rig.server.set(`/untyped/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)), "application/octet-stream");
    expect(await start("untyped")).toEqual({ outcome: "ok", tampered: 0 });
  });

  it.each([
    ["the module", ORT_BUILDS.wasm[0]!],
    ["the WebAssembly glue module", ORT_BUILDS.wasm[1]!],
  ])("refuses %s with code appended, which never runs", async (_, file) => {
    const prefix = `altered-${file}`;
    serveOrt(prefix, file, (bytes) => new Uint8Array([...bytes, ...new TextEncoder().encode(MARK)]));
    const result = await start(prefix);
    expect(result.outcome).toMatch(/^integrity: .*not the onnxruntime-web this runtime was built with/);
    expect(result.tampered).toBe(0);
  });

  it("refuses the WebAssembly binary with one byte changed", async () => {
    const file = ORT_BUILDS.wasm[2]!;
    serveOrt("altered-wasm", file, (bytes) => {
      const copy = bytes.slice();
      const at = copy.length >> 1;
      copy[at] = copy[at]! ^ 1;
      return copy;
    });
    expect((await start("altered-wasm")).outcome).toMatch(/^integrity: /);
  });

  // the binary is hashed in 1 MiB blocks as it streams in: a block added at the end counts too
  it("refuses the WebAssembly binary with a block of zeros appended", async () => {
    const file = ORT_BUILDS.wasm[2]!;
    serveOrt("longer-wasm", file, (bytes) => new Uint8Array([...bytes, ...new Uint8Array(1 << 20)]));
    expect((await start("longer-wasm")).outcome).toMatch(/^integrity: /);
  });
});
