import { describe, expect, it } from "vitest";
import { Aggregate } from "../../../../collector/aggregates/aggregate.ts";
import { PendingChunk } from "../../../../collector/ingest/pending-chunk.ts";
import type { RowKey } from "../../../../collector/aggregates/rows.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { rng } from "../../protocol/datasets.ts";

/** A report of 50 numeric features over 30 rows. */
function report(seed: number): Report {
  const r = rng(seed);
  const features: Record<string, string> = {};
  for (let f = 0; f < 50; f++) {
    const s = new NumericSketch();
    for (let i = 0; i < 30; i++) s.update(r() * 100);
    features[`n${f}`] = toBase64(s.encode());
  }
  return { id: `r${seed}`, model: "m", version: 1, role: "live", client: "c", start: 0, end: 1, segment: {}, rows: 30, sampleRate: 1, features };
}

const key: RowKey = { granularity: "hour", windowStart: 0, version: 1, role: "live", segment: "" };

describe("PendingChunk.bytes", () => {
  it("estimates a key of many merged reports as the merged aggregate, not the sum of the reports", () => {
    // a chunk closes on this estimate: summing every merged report closed a chunk of a wide
    // model after a few dozen reports and made the aggregator flush (and rewrite its hour and
    // day rows) ten times as often as its interval
    const chunk = new PendingChunk();
    const merged = new Aggregate();
    let separately = 0;
    for (let i = 1; i <= 200; i++) {
      const r = report(i);
      chunk.add(key, JSON.stringify(r), undefined, i);
      const one = Aggregate.fromReport(r);
      separately += one.memoryBytes();
      merged.absorb(one);
    }
    expect(chunk.reports).toBe(200);
    expect(chunk.bytes).toBe(merged.memoryBytes());
    expect(chunk.bytes).toBeLessThan(separately / 10);
  });

  it("lets go of the merged aggregates' growth slack before it calls itself full", () => {
    const chunk = new PendingChunk();
    for (let i = 1; i <= 200; i++) chunk.add(key, JSON.stringify(report(i)), undefined, i);
    const grown = chunk.bytes;
    // over the byte limit as grown, under it once the arrays hold only what they retain
    expect(chunk.full({ bytes: grown, keys: 10 })).toBe(false);
    expect(chunk.bytes).toBeLessThan(grown / 2);
    expect(chunk.full({ bytes: chunk.bytes, keys: 10 })).toBe(true);
  });

  it("counts a key's single report as its JSON", () => {
    const chunk = new PendingChunk();
    const json = JSON.stringify(report(1));
    chunk.add(key, json, undefined, 1);
    expect(chunk.bytes).toBe(json.length);
  });
});
