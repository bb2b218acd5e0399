// Issue 13 item 6: the runtime runs only the onnxruntime-web files its build was made with. Served
// with one file altered — the module, its WebAssembly glue module, or one byte of the WebAssembly
// binary — createRuntime rejects with `integrity` and the altered code never ran (the altered
// modules would count themselves in `window.tampered`); the same files unaltered run. With the
// `cache` option the checked files are kept in the page's Cache Storage: later starts take them
// from there (not from the server), and a kept copy altered in the page's storage never runs.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { openRuntimePage, startAndPredict } from "./harness/runtime-page.ts";
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

  /**
   * A fresh page's createRuntime with onnxruntime-web from `/{prefix}/` (`extra` options, `on`
   * another page): its error code (or "ok"), the altered code's runs and which of
   * onnxruntime-web's files the page downloaded.
   */
  async function start(prefix: string, cache = false, extra: Record<string, unknown> = {}, on = page) {
    const { outcome } = await startAndPredict(on, rig.server, { ...options, cache, ...extra, ortUrl: `${rig.server.url}/${prefix}/` }, churnRows(1)[0]);
    const seen = await on.evaluate(() => ({
      tampered: (globalThis as { tampered?: number }).tampered ?? 0,
      downloaded: performance
        .getEntriesByType("resource")
        .flatMap((e) => (e.name.includes("/ort") ? [e.name.split("/").pop()!] : []))
        .sort(),
    }));
    return { outcome, ...seen };
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
    expect(await start("same")).toEqual({ outcome: "ok", tampered: 0, downloaded: [...ORT_BUILDS.wasm].sort() });
  });

  // the binary streams to the compiler as served when it is `application/wasm`, else retyped
  it("runs the build's files with the WebAssembly served under another content type", async () => {
    serveOrt("untyped");
    const file = ORT_BUILDS.wasm[2]!;
    rig.server.set(`/untyped/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)), "application/octet-stream");
    expect(await start("untyped")).toMatchObject({ outcome: "ok", tampered: 0 });
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

  // bytes past the end of the build's binary count too
  it("refuses the WebAssembly binary with a block of zeros appended", async () => {
    const file = ORT_BUILDS.wasm[2]!;
    serveOrt("longer-wasm", file, (bytes) => new Uint8Array([...bytes, ...new Uint8Array(1 << 20)]));
    expect((await start("longer-wasm")).outcome).toMatch(/^integrity: /);
  });

  it("names a binary the server does not have: `backend`, not a hang", async () => {
    for (const file of ORT_BUILDS.wasm.slice(0, 2)) rig.server.set(`/no-wasm/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)));
    expect((await start("no-wasm")).outcome).toMatch(/^backend: cannot load .*ort-wasm-simd-threaded\.wasm: HTTP 404/);
  });

  it("fails a start whose binary download stalls, once nothing has arrived for `timeoutMs`", async () => {
    serveOrt("stall");
    await page.route("**/stall/*.wasm", () => {}); // never answered
    try {
      const { outcome } = await start("stall", false, { timeoutMs: 1500 });
      expect(outcome).toMatch(/^backend: cannot load .*ort-wasm-simd-threaded\.wasm: nothing arrived for 1500 ms/);
    } finally {
      await page.unroute("**/stall/*.wasm");
    }
  });

  it("fails a start whose binary cannot be instantiated (memory, say): `backend`, not a hang", async () => {
    serveOrt("no-memory");
    const failing = await rig.browser.context.newPage();
    await failing.addInitScript(() => {
      const instantiate = WebAssembly.instantiate;
      WebAssembly.instantiate = ((source: unknown, imports?: WebAssembly.Imports) =>
        source instanceof WebAssembly.Module ? Promise.reject(new RangeError("WebAssembly.Memory(): could not allocate memory")) : instantiate(source as BufferSource, imports)) as typeof instantiate;
    });
    try {
      expect((await start("no-memory", false, {}, failing)).outcome).toMatch(/^backend: .*could not allocate memory/);
    } finally {
      await failing.close();
    }
  });

  // each load names its checked binary for its own glue: a binary refused for one `ortUrl` does
  // not reach a session on another one's
  it("keeps a load of good files apart from a load of altered ones on the same page", async () => {
    serveOrt("apart-good");
    serveOrt("apart-bad", ORT_BUILDS.wasm[2]!, (bytes) => {
      const copy = bytes.slice();
      copy[copy.length >> 1]! ^= 1;
      return copy;
    });
    let artifacts = 0;
    // the good runtime's model arrives late: its session opens after the bad load has begun
    await page.route("**/v1/artifacts/**", async (route) => {
      if (artifacts++ === 0) await new Promise((resolve) => setTimeout(resolve, 3000));
      await route.continue();
    });
    try {
      await openRuntimePage(page, rig.server);
      const outcomes = await page.evaluate(
        async ({ good, bad, row }) => {
          const run = (o: unknown) =>
            (async () => {
              const rt = await window.Driftline.createRuntime(o as never);
              await rt.predict(row as never);
              await rt.close();
              return "ok";
            })().catch((err) => `${(err as { code?: string }).code}: ${(err as Error).message}`);
          const first = run(good);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          return Promise.all([first, run(bad)]);
        },
        { good: { ...options, ortUrl: `${rig.server.url}/apart-good/` }, bad: { ...options, ortUrl: `${rig.server.url}/apart-bad/` }, row: churnRows(1)[0] },
      );
      expect(outcomes[0]).toBe("ok");
      expect(outcomes[1]).toMatch(/^integrity: /);
    } finally {
      await page.unroute("**/v1/artifacts/**");
    }
  });

  describe("kept on the device (`cache`)", () => {
    /** The kept files, by file name: their sizes, and the SHA-256 of each as hex. */
    const kept = () =>
      page.evaluate(async () => {
        const cache = await caches.open("driftline-ort");
        const out: Record<string, { size: number; sha256: string }> = {};
        for (const req of await cache.keys()) {
          const bytes = await (await cache.match(req))!.arrayBuffer();
          const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
          out[req.url.split("/").pop()!] = { size: bytes.byteLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") };
        }
        return out;
      });
    /** Waits until the files of the first start are kept (they are written after it). */
    const keptAll = () => expect.poll(async () => Object.keys(await kept()).sort(), { timeout: 10_000 }).toEqual([...ORT_BUILDS.wasm].sort());
    /** Replaces kept file `file` with `alter` of it, in the page's Cache Storage. */
    const alterKept = (file: string, how: "byte" | "mark") =>
      page.evaluate(
        async ({ file, how, mark }) => {
          const cache = await caches.open("driftline-ort");
          const req = (await cache.keys()).find((r) => r.url.endsWith(`/${file}`))!;
          const res = (await cache.match(req))!;
          const bytes = new Uint8Array(await res.arrayBuffer());
          if (how === "byte") bytes[bytes.length >> 1]! ^= 1;
          const body = how === "byte" ? bytes : new Blob([bytes, mark]);
          await cache.put(req, new Response(body, { headers: res.headers }));
        },
        { file, how, mark: MARK },
      );
    const sha = (file: string) =>
      createHash("sha256")
        .update(readFileSync(`${ORT_DIST}/${file}`))
        .digest("hex");

    beforeAll(async () => {
      await openRuntimePage(page, rig.server);
      await page.evaluate(() => caches.delete("driftline-ort"));
    });

    it("keeps the checked files, and later starts run them without the server's", async () => {
      serveOrt("keep");
      expect(await start("keep", true)).toEqual({ outcome: "ok", tampered: 0, downloaded: [...ORT_BUILDS.wasm].sort() });
      await keptAll();
      const files = await kept();
      for (const file of ORT_BUILDS.wasm) expect(files[file]!.sha256).toBe(sha(file));
      // the server's files altered (every one of them): a start from the kept copy never asks for them
      for (const file of ORT_BUILDS.wasm) rig.server.set(`/keep/${file}`, new TextEncoder().encode(MARK));
      expect(await start("keep", true)).toEqual({ outcome: "ok", tampered: 0, downloaded: [] });
    });

    it.each([
      ["the module, code appended", ORT_BUILDS.wasm[0]!, "mark"],
      ["the WebAssembly binary, one byte changed", ORT_BUILDS.wasm[2]!, "byte"],
    ] as const)("a kept copy altered in the page's storage (%s) never runs: the files are downloaded again", async (_, file, how) => {
      const prefix = `rekeep-${how}`;
      serveOrt(prefix);
      await start(prefix, true);
      await keptAll();
      await alterKept(file, how);
      const result = await start(prefix, true);
      expect(result.outcome).toBe("ok");
      expect(result.tampered).toBe(0);
      expect(result.downloaded).toContain(file);
      // kept again as the build's (altered modules: by the start after)
      expect((await start(prefix, true)).outcome).toBe("ok");
      await expect.poll(async () => (await kept())[file]?.sha256, { timeout: 10_000 }).toBe(sha(file));
    });

    it("keeps one copy of each build: an older copy of this build is deleted, the other build's stays", async () => {
      serveOrt("one-copy");
      const stale = ORT_BUILDS.wasm.map((file) => `https://kept.invalid/older/digests/${file}`);
      const other = ORT_BUILDS.jspi.map((file) => `https://kept.invalid/webgpu/digests/${file}`);
      await openRuntimePage(page, rig.server);
      await page.evaluate(
        async (urls) => {
          await caches.delete("driftline-ort");
          const cache = await caches.open("driftline-ort");
          for (const url of urls) await cache.put(url, new Response("x"));
        },
        [...stale, ...other],
      );
      expect((await start("one-copy", true)).outcome).toBe("ok");
      const urls = () => page.evaluate(async () => (await (await caches.open("driftline-ort")).keys()).map((r) => r.url));
      await expect.poll(async () => (await urls()).filter((url) => url.includes("/older/")), { timeout: 10_000 }).toEqual([]);
      const kept = await urls();
      expect(kept.filter((url) => url.includes("/webgpu/")).sort()).toEqual([...other].sort());
      expect(
        kept
          .filter((url) => !url.includes("/webgpu/"))
          .map((url) => url.split("/").pop())
          .sort(),
      ).toEqual([...ORT_BUILDS.wasm].sort());
    });

    it("passes over a Cache Storage that fails: downloads, and runs", async () => {
      serveOrt("no-storage");
      const failing = await rig.browser.context.newPage();
      await failing.addInitScript(() => {
        Cache.prototype.match = () => Promise.reject(new DOMException("Unexpected internal error.", "UnknownError"));
      });
      try {
        expect((await start("no-storage", true, {}, failing)).outcome).toBe("ok");
      } finally {
        await failing.close();
      }
    });
  });
});
