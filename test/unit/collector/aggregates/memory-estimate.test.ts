import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Aggregate } from "../../../../collector/aggregates/aggregate.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { rng } from "../../protocol/datasets.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Heap plus ArrayBuffer backing stores (typed arrays live outside the JS heap), after full
 * collections: V8 frees dead backing stores on a background thread, so one gc() and an immediate
 * reading can still count garbage (the reading varied up to 3x under load with one).
 */
async function heldBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A report of 200 numeric and 20 categorical features over `rows` rows. */
function wideReport(rows: number, seed: number): Report {
  const r = rng(seed);
  const features: Record<string, string> = {};
  for (let f = 0; f < 200; f++) {
    const s = new NumericSketch();
    for (let i = 0; i < rows; i++) s.update(f % 2 ? Math.exp(r() * 3) : Math.round(r() * 100));
    features[`n${f}`] = toBase64(s.encode());
  }
  for (let f = 0; f < 20; f++) {
    const s = new CategoricalSketch(["a", "b", "c", "d"]);
    for (let i = 0; i < rows; i++) s.update("abcde"[Math.floor(r() * 5)]!);
    features[`c${f}`] = toBase64(s.encode());
  }
  return { id: `r${seed}`, model: "m", version: 1, role: "live", client: "c", start: 0, end: 1, segment: {}, rows, sampleRate: 1, features };
}

describe("Aggregate.memoryBytes", () => {
  // what bounds an aggregator's memory (docs/ingest.md "Memory"): it must not under-count what
  // V8 holds, nor over-count so much that chunks become needlessly small
  for (const rows of [20, 200, 2_000]) {
    it(`bounds the heap of decoded 220-feature aggregates of ${rows} rows from above, within 2.5x`, async () => {
      const reports = Array.from({ length: 20 }, (_, i) => wideReport(rows, i + 1));
      const before = await heldBytes();
      const aggregates = reports.map((r) => Aggregate.fromReport(r));
      const held = (await heldBytes()) - before;
      const estimate = aggregates.reduce((n, a) => n + a.memoryBytes(), 0);
      expect(estimate).toBeGreaterThanOrEqual(held);
      expect(estimate).toBeLessThanOrEqual(2.5 * held);
    });
  }
});
