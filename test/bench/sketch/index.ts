/**
 * Sketch bench: update cost, decode+merge cost and encoded size of the KLL-based sketches,
 * next to @datadog/sketches-js DDSketch measured in the same run. Prints one JSON object.
 *
 * Fairness: every contender gets the same values, its own monomorphic loop function, warm-up
 * runs, then `ROUNDS` rounds that run all contenders back to back in a rotating order. Each
 * figure is the median over rounds, and each ratio is the median of per-round ratios, so load
 * from other processes (this is a shared 2-core box) hits both sides of a ratio alike. Times are
 * CPU time of this process, so being descheduled does not count.
 */
import { DDSketch } from "@datadog/sketches-js";
import { NumericSketch, decodeNumeric } from "../../../protocol/sketch/numeric.ts";
import { QuantileSketch } from "../../../protocol/sketch/quantiles.ts";
import { generate } from "../../unit/protocol/datasets.ts";

const N = 1_000_000;
const PARTS = 1000;
const PART_SIZE = 10_000;
const WARMUP = 3;
const ROUNDS = 15;

type Contenders = Record<string, () => void>;

/** CPU time (user + system) in nanoseconds: unlike wall time, it leaves out the time other processes hold the core. */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Per contender, CPU nanoseconds of each round's run (warm-up runs dropped). */
function measure(contenders: Contenders, rounds: number): Record<string, number[]> {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -WARMUP; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + Math.max(r, 0)) % names.length]!;
      const t0 = cpuNs();
      contenders[name]!();
      const t = cpuNs() - t0;
      if (r >= 0) times[name]!.push(t);
    }
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median over rounds of `a[i] / b[i]`. */
function ratio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

const data = generate("lognormal", N, 3);
let sink = 0;

function kllUpdate(): void {
  const s = new QuantileSketch();
  for (let i = 0; i < N; i++) s.update(data[i]!);
  sink += s.n;
}
function numericUpdate(): void {
  const s = new NumericSketch();
  for (let i = 0; i < N; i++) s.update(data[i]!);
  sink += s.count;
}
function ddAccept(): void {
  const s = new DDSketch({ relativeAccuracy: 0.01 });
  for (let i = 0; i < N; i++) s.accept(data[i]!);
  sink += s.count;
}

process.stderr.write("update…\n");
const update = measure({ kll: kllUpdate, numeric: numericUpdate, dd: ddAccept }, ROUNDS);

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
function numericDecodeMerge(): void {
  const total = new NumericSketch();
  for (const bytes of kllParts) total.merge(decodeNumeric(bytes));
  sink += total.count;
}
function ddDecodeMerge(): void {
  const total = new DDSketch({ relativeAccuracy: 0.01 });
  for (const bytes of ddParts) total.merge(DDSketch.fromProto(bytes));
  sink += total.count;
}
const merge = measure({ numeric: numericDecodeMerge, dd: ddDecodeMerge }, ROUNDS);

const full = new NumericSketch();
const fullDd = new DDSketch({ relativeAccuracy: 0.01 });
for (const x of data) {
  full.update(x);
  fullDd.accept(x);
}
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const avg = (parts: Uint8Array[]) => Math.round(parts.reduce((n, b) => n + b.length, 0) / parts.length);
if (sink === 0) throw new Error("unreachable: keeps the loops' results alive");

console.log(
  JSON.stringify(
    {
      data: `lognormal, ${N} values; merge: ${PARTS} parts of ${PART_SIZE}; CPU time, median of ${ROUNDS} rounds after ${WARMUP} warm-up`,
      updateNsPerOp: {
        kll: round(median(update.kll!) / N),
        numeric: round(median(update.numeric!) / N),
        ddsketchAccept: round(median(update.dd!) / N),
      },
      decodeMergeUsPerSketch: {
        numeric: round(median(merge.numeric!) / PARTS / 1000),
        ddsketchProto: round(median(merge.dd!) / PARTS / 1000),
      },
      encodedBytes: {
        numericAt1e6: full.encode().length,
        quantilesAt1e6: full.quantiles.encode().length,
        ddsketchAt1e6: fullDd.toProto().length,
        numericPartAvg: avg(kllParts),
        ddsketchPartAvg: avg(ddParts),
      },
      ratios: {
        kllUpdateVsDdAccept: round(ratio(update.kll!, update.dd!)),
        numericUpdateVsDdAccept: round(ratio(update.numeric!, update.dd!)),
        decodeMergeVsDd: round(ratio(merge.numeric!, merge.dd!)),
        bytesVsDd: round(full.encode().length / fullDd.toProto().length),
      },
      targets: { updateRatioMax: 1.5, decodeMergeUsMax: 25, bytesMax: 2500 },
    },
    null,
    2,
  ),
);
