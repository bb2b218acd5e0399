// Stored aggregates written before the sketch-kind registry still read, and re-encode to the
// same sketches. test/fixtures/stored-aggregates.json was written by the code of commit ccf384d:
// `format3` two merged reports with every part (features, classification prediction, latency,
// errors, confusion, shadow) and a sender tally; `format2` a regression aggregate (residual, no
// confusion) without senders, as format 2 stored it: format-3 bytes with format byte 2 and no
// tally. Both are written back as format 7 (an embedding sketch after the residuals, a label
// tally after the sender tally, a shadow tally after that, a row tally last).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Aggregate } from "../../../../collector/aggregates/aggregate.ts";
import { CategoricalSketch, ClassificationSketch, ConfusionMatrix, EmbeddingSketch, ErrorCounts, LatencySketch, NumericSketch, fromBase64 } from "../../../../protocol/sketch/index.ts";

const fixture = JSON.parse(readFileSync(new URL("../../../fixtures/stored-aggregates.json", import.meta.url), "utf8")) as { format3: string; format2: string };

describe("stored aggregates of formats 2 to 7", () => {
  it("reads format 3 with every sketch of its kind, and writes it as format 7 that reads back byte for byte", () => {
    const bytes = fromBase64(fixture.format3);
    const a = Aggregate.fromBytes(bytes);
    expect([a.reports, a.rows, [...a.senders.weights.keys()]]).toEqual([2, 2000, [7, 9]]);
    expect(a.features.get("tenure")).toBeInstanceOf(NumericSketch);
    expect(a.features.get("plan")).toBeInstanceOf(CategoricalSketch);
    expect(a.prediction).toBeInstanceOf(ClassificationSketch);
    expect(a.latency).toBeInstanceOf(LatencySketch);
    expect(a.errors).toBeInstanceOf(ErrorCounts);
    expect(a.confusion).toBeInstanceOf(ConfusionMatrix);
    expect(a.shadow.get(2)?.delta).toBeInstanceOf(NumericSketch);
    expect(a.errorTotal).toBe(40);
    // written again, quantile items are grid-coded (protocol/README.md "Item coding"): fewer
    // bytes, the same sketches, and stable from then on
    const again = a.toBytes();
    expect(again[0]).toBe(7);
    expect(a.embedding).toBeUndefined();
    expect(again.length).toBeLessThan(bytes.length);
    expect(Aggregate.fromBytes(again).toBytes()).toEqual(again);
    // and a copy through merge (the registry's empty-like and merge) encodes the same
    expect(new Aggregate().merge(a).toBytes()).toEqual(again);
    // format 6 is format 7 without the row tally, 5 without the shadow tally too, 4 without the
    // label tally too (each empty here: two zero varints)
    expect(again.subarray(-6)).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0));
    expect(Aggregate.fromBytes(Uint8Array.of(6, ...again.subarray(1, -2))).toBytes()).toEqual(again);
    expect(Aggregate.fromBytes(Uint8Array.of(5, ...again.subarray(1, -4))).toBytes()).toEqual(again);
    expect(Aggregate.fromBytes(Uint8Array.of(4, ...again.subarray(1, -6))).toBytes()).toEqual(again);
  });

  it("reads format 2 (no sender tally) and writes it as format 7 with empty tallies", () => {
    const bytes = fromBase64(fixture.format2);
    const a = Aggregate.fromBytes(bytes);
    expect([a.reports, a.rows, a.senders.weights.size]).toEqual([1, 1000, 0]);
    expect(a.residual).toBeInstanceOf(NumericSketch);
    expect(a.confusion).toBeUndefined();
    expect(a.toBytes()).toEqual(Aggregate.fromBytes(Uint8Array.of(3, ...bytes.subarray(1), 0, 0)).toBytes());
  });

  it("keeps an embedding sketch in formats 4 to 7, between the residuals and the shadow parts", () => {
    const a = Aggregate.fromBytes(fromBase64(fixture.format3));
    const embedding = new EmbeddingSketch(3, 2);
    embedding.update([1, 2, 3], [0.5, -0.5]);
    a.embedding = embedding;
    const read = Aggregate.fromBytes(a.toBytes());
    expect(read.embedding?.encode()).toEqual(embedding.encode());
    expect(read.shadow.get(2)?.delta).toBeInstanceOf(NumericSketch);
    expect(Aggregate.fromBytes(a.toBytes(), ["errors"]).embedding).toBeUndefined();
  });

  it("decodes only the parts asked for", () => {
    const a = Aggregate.fromBytes(fromBase64(fixture.format3), ["errors"]);
    expect([a.features.size, a.prediction, a.latency, a.errorTotal]).toEqual([0, undefined, undefined, 40]);
  });
});
