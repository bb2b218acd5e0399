// Downloads the runtime makes for a model and for onnxruntime-web are bounded by what arrives,
// not by how long they take in all: a big model on a slow link loads however long it takes while
// bytes keep arriving, and a server that sends without end (or more than the bytes expected: the
// manifest's `size`, the build's file sizes) is cut off as soon as it goes past them, so it cannot
// fill the device's memory or hold a start up for good.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { openRuntimePage, startAndPredict } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { endless, type Writer } from "./harness/static-server.ts";
import { ORT_BUILDS, ORT_DIST } from "../../scripts/lib/ort-files.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

describe("runtime downloads: slow is fine, endless is not", () => {
  let rig: RuntimeRig;
  let page: Page;
  let options: Record<string, unknown>;
  const model = churnModel("downloads");

  /** A fresh page's createRuntime (`extra` options) + one predict(): its outcome, and how long it took. */
  const start = (extra: Record<string, unknown> = {}) => startAndPredict(page, rig.server, { ...options, ...extra }, churnRows(1)[0]);

  /** Points the assignment's `artifactUrl` at `path` on the page's server. */
  const artifactAt = (path: string) =>
    page.route("**/v1/assignment?**", async (route) => {
      const assignment = await (await route.fetch()).json();
      await route.fulfill({ json: { ...assignment, artifactUrl: `${rig.server.url}${path}` } });
    });

  beforeAll(async () => {
    rig = await startRuntimeRig();
    await rig.collector.publish(model.bytes, model.manifest);
    for (const file of ORT_BUILDS.wasm) rig.server.set(`/ort-good/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)));
    options = { collector: rig.collector.url, key: await rig.collector.ingestKey(), model: "downloads", backend: "wasm", cache: false, ortUrl: `${rig.server.url}/ort-good/` };
    page = await rig.browser.context.newPage();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  /** A route that answers `bytes` in six parts, 400 ms apart (2.4 s in all). */
  const slowly =
    (bytes: Uint8Array): Writer =>
    (res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const size = Math.ceil(bytes.length / 6);
      let part = 0;
      const next = () => {
        if (res.destroyed) return;
        res.write(bytes.subarray(part * size, ++part * size));
        if (part < 6) setTimeout(next, 400);
        else res.end();
      };
      next();
    };

  // `timeoutMs` bounds a stall, not a download: a model that takes 2.4 s to arrive in six parts
  // loads with a limit of 1.2 s
  it("loads a model that arrives slowly but steadily, in all longer than `timeoutMs`", async () => {
    rig.server.set("/slow-model", slowly(model.bytes));
    await artifactAt("/slow-model");
    try {
      const { outcome, ms } = await start({ timeoutMs: 1200 });
      expect(outcome).toBe("ok");
      expect(ms).toBeGreaterThan(2000);
    } finally {
      await page.unroute("**/v1/assignment?**");
    }
  });

  // …but a page that keeps a version does not wait for a new one longer than `timeoutMs`
  it("starts from the version it keeps when a new one takes longer than `timeoutMs`, and swaps the new one in once loaded", async () => {
    const [v1, v2] = [churnModel("kept", 0), churnModel("kept", 1)];
    await rig.collector.publish(v1.bytes, v1.manifest);
    await rig.collector.publish(v2.bytes, v2.manifest);
    const kept = { ...options, model: "kept", cache: true, timeoutMs: 1000 };
    const row = churnRows(1)[0];
    expect((await startAndPredict(page, rig.server, kept, row)).outcome).toBe("ok");
    await rig.collector.rollout("kept", { stable: 2 });
    rig.server.set("/slow-v2", slowly(v2.bytes));
    await artifactAt("/slow-v2");
    try {
      await openRuntimePage(page, rig.server);
      const seen = await page.evaluate(
        async ({ o, row }) => {
          const t = performance.now();
          const rt = await window.Driftline.createRuntime(o as never);
          const started = { ms: performance.now() - t, version: rt.version, predicted: ((await rt.predict(row as never)) as { version: string }).version };
          const update = await new Promise((resolve) => rt.on("update", resolve));
          const after = ((await rt.predict(row as never)) as { version: string }).version;
          await rt.close();
          return { started, update, after, ms: performance.now() - t };
        },
        { o: kept, row },
      );
      expect(seen).toMatchObject({ started: { version: "1", predicted: "1" }, update: { from: "1", to: "2" }, after: "2" });
      // the start waited `timeoutMs` for the new version, not its 2.4 s
      expect(seen.started.ms).toBeLessThan(2000);
      expect(seen.ms).toBeGreaterThan(2000);
    } finally {
      await page.unroute("**/v1/assignment?**");
    }
  });

  it("refuses a model download that goes on past the manifest's size, as soon as it does", async () => {
    const server = endless(model.bytes, "application/octet-stream");
    rig.server.set("/endless-model", server.write);
    await artifactAt("/endless-model");
    try {
      const { outcome } = await start({ timeoutMs: 10_000 });
      expect(outcome).toMatch(/^integrity: .*more than \d+ bytes/);
      // the client hung up (the previous code read on until `timeoutMs`); what the server wrote
      // meanwhile is what reaches local sockets before the hang-up does (5.4 MB in a run)
      await server.closed;
      expect(server.sent()).toBeLessThan(64 << 20);
    } finally {
      await page.unroute("**/v1/assignment?**");
    }
  });

  // the host's error answer is read within the same limit: it cannot fill the page either
  it("reads an error answer of the model's host without end no further than the manifest's size", async () => {
    const server = endless(new TextEncoder().encode('{"error":{"message":"'), "application/json", 500);
    rig.server.set("/endless-500", server.write);
    await artifactAt("/endless-500");
    try {
      const { outcome } = await start({ timeoutMs: 5_000 });
      expect(outcome).toMatch(/^download: .*endless-500: 500/);
      // (the previous code read it for `timeoutMs`: 1 GB in a run)
      await server.closed;
      expect(server.sent()).toBeLessThan(64 << 20);
    } finally {
      await page.unroute("**/v1/assignment?**");
    }
  });

  it("refuses an onnxruntime-web binary that goes on past the build's, as soon as it does", async () => {
    const [main, glue, wasm] = ORT_BUILDS.wasm as [string, string, string];
    for (const file of [main, glue]) rig.server.set(`/ort-endless/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)));
    const server = endless(new Uint8Array(readFileSync(`${ORT_DIST}/${wasm}`)), "application/wasm");
    rig.server.set(`/ort-endless/${wasm}`, server.write);
    const { outcome } = await start({ timeoutMs: 10_000, ortUrl: `${rig.server.url}/ort-endless/` });
    expect(outcome).toMatch(/^integrity: .*more than \d+ bytes/);
    // the previous code read on until the page ran out of memory and crashed; 50 MB in a run
    await server.closed;
    expect(server.sent()).toBeLessThan(256 << 20);
  });

  it("refuses an optional module that goes on past 1 MiB: the page predicts unlogged and says why", async () => {
    const server = endless(new TextEncoder().encode("export default () => ({});\n//"), "text/javascript");
    rig.server.set("/endless-module", server.write);
    await page.route("**/sdk/driftline-logging.js", (route) => route.continue({ url: `${rig.server.url}/endless-module` }));
    try {
      // (`cache: false`: no module kept from before)
      await openRuntimePage(page, rig.server);
      const errors = await page.evaluate(
        async ({ o, row }) => {
          const rt = await window.Driftline.createRuntime(o as never);
          const seen: string[] = [];
          rt.on("error", (e) => seen.push(`${(e as { code: string }).code}: ${(e as Error).message}`));
          await rt.predict(row as never);
          await rt.close();
          return seen;
        },
        { o: { ...options, logging: true, timeoutMs: 10_000 }, row: churnRows(1)[0] },
      );
      expect(errors).toEqual([expect.stringMatching(/^integrity: .*driftline-logging\.js: more than 1048576 bytes/)]);
      await server.closed;
    } finally {
      await page.unroute("**/sdk/driftline-logging.js");
    }
  });
});
