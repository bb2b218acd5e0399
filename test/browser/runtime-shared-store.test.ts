// Two models on one origin share the runtime's IndexedDB ("driftline"): starting one must not
// delete the model the other keeps (its next offline start runs from it).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { startAndPredict } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { ORT_BUILDS, ORT_DIST } from "../../scripts/lib/ort-files.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";

describe("two models on one origin", () => {
  let rig: RuntimeRig;
  let page: Page;
  let options: Record<string, unknown>;
  const [a, b] = [churnModel("prune-a", 0), churnModel("prune-b", 1)];

  beforeAll(async () => {
    rig = await startRuntimeRig();
    await rig.collector.publish(a.bytes, a.manifest);
    await rig.collector.publish(b.bytes, b.manifest);
    for (const file of ORT_BUILDS.wasm) rig.server.set(`/ort-good/${file}`, new Uint8Array(readFileSync(`${ORT_DIST}/${file}`)));
    options = { collector: rig.collector.url, key: await rig.collector.ingestKey(), backend: "wasm", cache: true, push: false, ortUrl: `${rig.server.url}/ort-good/` };
    page = await rig.browser.context.newPage();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it("starting model b keeps model a's bytes: a's next start, offline, runs", async () => {
    const row = churnRows(1)[0];
    expect((await startAndPredict(page, rig.server, { ...options, model: "prune-a" }, row)).outcome).toBe("ok");
    expect((await startAndPredict(page, rig.server, { ...options, model: "prune-b" }, row)).outcome).toBe("ok");
    // the collector down
    await page.route(`${rig.collector.url}/**`, (route) => route.abort());
    try {
      expect((await startAndPredict(page, rig.server, { ...options, model: "prune-a" }, row)).outcome).toBe("ok");
    } finally {
      await page.unroute(`${rig.collector.url}/**`);
    }
  });
});
