// Issue 13 item 3: every report fits. A model at LIMITS.features (512 numeric features) reporting
// 100,000 rows, and a model of categorical features with 1,000 names of 100 characters each: the
// runtime splits what it sends by features so that every part is within the collector's limits,
// every report is accepted and the collector counts every row and every feature's values once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { wideModel, type WideShape } from "../fixtures/runtime-models.ts";
import { LIMITS } from "../../protocol/limits.ts";

const CATEGORIES = Array.from({ length: 1000 }, (_, i) => `category-${i}-`.padEnd(100, "x"));

describe("runtime: reports of the widest models fit the collector's limits", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let page: Page;
  let key: string;

  beforeAll(async () => {
    // one sender sends 100,000 rows in a minute: no budget may scale its counts down
    rig = await startRuntimeRig({ vars: { SENDER_BUDGET_PER_MINUTE: "1000000000" } });
    collector = rig.collector;
    key = await collector.ingestKey();
    page = await rig.browser.context.newPage();
  });

  afterAll(() => rig?.stop());

  /**
   * Predicts `batches` × 1,000 rows generated in the page (the values of `wideRow`), flushes,
   * and answers the `error` events and what the reports endpoint was sent (sizes per request).
   */
  async function predict(model: string, shape: WideShape, batches: number) {
    await openRuntimePage(page, rig!.server);
    const options = { collector: collector.url, key, model, ortUrl: `${rig!.server.url}/ort/`, reportIntervalMs: 3_600_000 };
    return page.evaluate(
      async ({ options, shape, batches }) => {
        const requests: Array<{ reports: number; parts: number; chars: number; status: number }> = [];
        const transport = {
          fetch: async (url: string, init: RequestInit) => {
            const res = await fetch(url, init);
            if (url.includes("/v1/reports")) {
              const body = JSON.parse(init.body as string) as { reports: Array<{ part?: number }> };
              requests.push({ reports: body.reports.length, parts: body.reports.filter((r) => r.part).length, chars: (init.body as string).length, status: res.status });
            }
            return res;
          },
          beacon: () => false,
        };
        const rt = await window.Driftline.createRuntime({ ...(options as unknown as Parameters<typeof window.Driftline.createRuntime>[0]), transport });
        const errors: string[] = [];
        rt.on("error", (e) => errors.push(`${e.code}: ${e.message}`));
        for (let b = 0; b < batches; b++) {
          const rows = Array.from({ length: 1000 }, (_, r) => {
            const i = b * 1000 + r;
            const row: Record<string, number | string> = {};
            for (let f = 0; f < shape.numeric; f++) row[`n${f}`] = (i * 7 + f * 13) % 1000;
            for (let f = 0; f < (shape.categorical ?? 0); f++) row[`c${f}`] = shape.categories![(i + f) % shape.categories!.length]!;
            return row;
          });
          await rt.predict(rows);
        }
        await rt.flush();
        await rt.flush();
        await rt.close();
        return { errors, requests };
      },
      { options, shape, batches },
    );
  }

  async function expectCounted(model: string, version: number, rows: number, features: string[]) {
    const drift = await collector.drift(model, version);
    expect(drift.count).toBe(rows);
    const counts = drift.features as Record<string, { count: number }>;
    for (const name of features) expect(counts[name]?.count, name).toBe(rows);
  }

  it("512 numeric features × 100,000 rows: split into parts within LIMITS.reportBytes, all accepted, every count exact", async () => {
    const shape = { numeric: LIMITS.features };
    const { bytes, manifest } = wideModel("wide", shape);
    const version = await collector.publish(bytes, manifest);
    const { errors, requests } = await predict("wide", shape, 100);
    console.info("512 features:", JSON.stringify(requests));
    expect(errors).toEqual([]);
    expect(requests.every((r) => r.status === 200)).toBe(true);
    expect(requests.reduce((n, r) => n + r.parts, 0)).toBeGreaterThan(0);
    expect(Math.max(...requests.map((r) => r.chars))).toBeLessThanOrEqual(LIMITS.batchBytes);
    await expectCounted(
      "wide",
      version,
      100_000,
      manifest.features.map((f) => f.name),
    );
  });

  it("4 categorical features of 1,000 names of 100 characters: split, all accepted, every count exact", async () => {
    const shape = { numeric: 0, categorical: 4, categories: CATEGORIES };
    const { bytes, manifest } = wideModel("widecat", shape);
    const version = await collector.publish(bytes, manifest);
    const { errors, requests } = await predict("widecat", shape, 10);
    console.info("categorical:", JSON.stringify(requests));
    expect(errors).toEqual([]);
    expect(requests.every((r) => r.status === 200)).toBe(true);
    expect(requests.reduce((n, r) => n + r.parts, 0)).toBeGreaterThan(0);
    await expectCounted(
      "widecat",
      version,
      10_000,
      manifest.features.map((f) => f.name),
    );
  });
});
