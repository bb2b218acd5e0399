// Issue 13 item 4: one run at a time. onnxruntime-web's WebGPU build allows one run at a time per
// instance (an overlapping run throws "Session already started"), so live calls and shadow runs
// take turns. 200 concurrent predict() calls with a shadow version assigned, on WebGPU
// (SwiftShader) and on WASM, answer exactly what the same calls made one by one answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page, Request } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";
import type { Report } from "../../protocol/schema/report.ts";

describe("runtime: concurrent calls take turns on the session", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let base: Record<string, unknown>;
  const rows = churnRows(200);

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig({ webgpu: true }));
    const live = churnModel("turns");
    const shadow = churnModel("turns", 1);
    await collector.publish(live.bytes, live.manifest);
    await collector.publish(shadow.bytes, shadow.manifest);
    await collector.rollout("turns", { stable: 1, shadow: { version: 2, sampleRate: 1 } });
    base = { collector: collector.url, key: await collector.ingestKey(), ortUrl: `${server.url}/ort/`, model: "turns" };
    page = await browser.context.newPage();
    await openRuntimePage(page, server);
  });

  afterAll(() => rig?.stop());

  for (const backend of ["webgpu", "wasm"]) {
    it(`answers 200 concurrent calls as it answers them one by one, on ${backend}`, async () => {
      const bodies: string[] = [];
      const collect = (req: Request) => void (req.url().includes("/v1/reports") && bodies.push(req.postData() ?? ""));
      page.on("request", collect);
      const result = await page.evaluate(
        async ({ o, r }) => {
          const errors: string[] = [];
          const rt = await window.Driftline.createRuntime(o as never);
          rt.on("error", (e: { code: string; message: string }) => errors.push(`${e.code}: ${e.message}`));
          const probs = (p: { outputs: Record<string, unknown> }) => Array.from(p.outputs.probabilities as Float32Array);
          // the shadow version loads after the live one: give it time to be running too
          await rt.predict(r[0]!);
          await new Promise((done) => setTimeout(done, 2_000));
          const oneByOne: number[][] = [];
          for (const row of r) oneByOne.push(probs(await rt.predict(row)));
          const settled = await Promise.allSettled(r.map((row) => rt.predict(row as never)));
          const concurrent = settled.map((s) => (s.status === "fulfilled" ? probs(s.value) : String(s.reason)));
          await rt.flush();
          const backendName = rt.backend.name;
          await rt.close();
          return { backendName, oneByOne, concurrent, errors };
        },
        { o: { ...base, backend }, r: rows },
      );
      expect(result.backendName).toBe(backend);
      expect(result.errors).toEqual([]);
      // the shadow ran beside the live calls (a shadow assigned before the page started did not
      // load, and this test ran none): on each call while its queue had room (256 rows)
      page.off("request", collect);
      const shadowRows = bodies.flatMap((b) => (b ? (JSON.parse(b) as { reports: Report[] }).reports : [])).reduce((n, r) => n + (r.shadow?.rows ?? 0), 0);
      expect(shadowRows).toBeGreaterThanOrEqual(256);
      result.concurrent.forEach((c, i) => {
        expect(Array.isArray(c), `call ${i}: ${String(c)}`).toBe(true);
        (c as number[]).forEach((p, j) => expect(p).toBe(result.oneByOne[i]![j]));
      });
    });
  }
});
