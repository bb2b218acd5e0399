/**
 * Sketch bench: update cost, decode+merge cost and encoded size of the KLL-based sketches,
 * next to @datadog/sketches-js DDSketch measured in the same run. Prints one JSON object.
 */
import { DDSketch } from "@datadog/sketches-js";
import { NumericSketch } from "../../../protocol/sketch/numeric.ts";
import { QuantileSketch } from "../../../protocol/sketch/quantiles.ts";
import { generate } from "../../unit/protocol/datasets.ts";

const N = 1_000_000;
const PARTS = 1000;
const PART_SIZE = 10_000;
const REPEATS = 5;

/** Best-of-`REPEATS` nanoseconds per call of `run` over `ops` operations. */
function nsPerOp(ops: number, run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return best / ops;
}

const data = generate("lognormal", N, 3);
process.stderr.write("update…\n");
const kllUpdate = nsPerOp(N, () => {
  const s = new QuantileSketch();
  for (let i = 0; i < N; i++) s.update(data[i]!);
});
const numericUpdate = nsPerOp(N, () => {
  const s = new NumericSketch();
  for (let i = 0; i < N; i++) s.update(data[i]!);
});
const ddAccept = nsPerOp(N, () => {
  const s = new DDSketch({ relativeAccuracy: 0.01 });
  for (let i = 0; i < N; i++) s.accept(data[i]!);
});

process.stderr.write("decode+merge…\n");
const kllParts: Uint8Array[] = [];
const ddParts: Uint8Array[] = [];
for (let p = 0; p < PARTS; p++) {
  const s = new NumericSketch();
  const d = new DDSketch({ relativeAccuracy: 0.01 });
  const part = generate("lognormal", PART_SIZE, 100 + p);
  for (const x of part) {
    s.update(x);
    d.accept(x);
  }
  kllParts.push(s.encode());
  ddParts.push(d.toProto());
}
const kllMerge = nsPerOp(PARTS, () => {
  const total = new NumericSketch();
  for (const bytes of kllParts) total.merge(NumericSketch.decode(bytes));
}) / 1000;
const ddMerge = nsPerOp(PARTS, () => {
  const total = new DDSketch({ relativeAccuracy: 0.01 });
  for (const bytes of ddParts) total.merge(DDSketch.fromProto(bytes));
}) / 1000;

const full = new NumericSketch();
const fullDd = new DDSketch({ relativeAccuracy: 0.01 });
for (const x of data) {
  full.update(x);
  fullDd.accept(x);
}
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const avg = (parts: Uint8Array[]) => Math.round(parts.reduce((n, b) => n + b.length, 0) / parts.length);

console.log(
  JSON.stringify(
    {
      data: `lognormal, ${N} values; merge: ${PARTS} parts of ${PART_SIZE}`,
      updateNsPerOp: { kll: round(kllUpdate), numeric: round(numericUpdate), ddsketchAccept: round(ddAccept) },
      decodeMergeUsPerSketch: { numeric: round(kllMerge), ddsketchProto: round(ddMerge) },
      encodedBytes: {
        numericAt1e6: full.encode().length,
        quantilesAt1e6: full.quantiles.encode().length,
        ddsketchAt1e6: fullDd.toProto().length,
        numericPartAvg: avg(kllParts),
        ddsketchPartAvg: avg(ddParts),
      },
      ratios: {
        kllUpdateVsDdAccept: round(kllUpdate / ddAccept),
        numericUpdateVsDdAccept: round(numericUpdate / ddAccept),
        decodeMergeVsDd: round(kllMerge / ddMerge),
        bytesVsDd: round(full.encode().length / fullDd.toProto().length),
      },
      targets: { updateRatioMax: 1.5, decodeMergeUsMax: 25, bytesMax: 2500 },
    },
    null,
    2,
  ),
);
