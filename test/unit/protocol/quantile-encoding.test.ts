import { describe, expect, it } from "vitest";
import { blurValue } from "../../../protocol/blur.ts";
import { NumericSketch, QuantileSketch, cdfPoints, decodeNumeric, decodeQuantiles, ksStatistic } from "../../../protocol/sketch/index.ts";
import { TAG, Writer, f32Key } from "../../../protocol/sketch/codec.ts";
import { rng } from "./datasets.ts";

/** A sketch of `n` values as a runtime records them: blurred onto the privacy grid. */
function blurred(n: number, seed: number): QuantileSketch {
  const r = rng(seed);
  const s = new QuantileSketch();
  for (let i = 0; i < n; i++) s.update(blurValue(Math.exp(r() * 4) * (r() < 0.5 ? -1 : 1)));
  return s;
}

/** The body as written before grid coding (format of 2026-11): plain level count, plain key deltas. */
function plainBytes(s: QuantileSketch): Uint8Array {
  const w = new Writer();
  w.varint(TAG.quantiles);
  w.varint(1);
  w.varint(s.k);
  w.varint(s.lens_.length);
  for (let h = 0; h < s.lens_.length; h++) w.varint(s.count_(h) * 3 + s.coins_[h]!);
  w.f64(s.min);
  w.f64(s.max);
  s.encode(); // sorts level 0, as the writer does
  for (let h = 0; h < s.lens_.length; h++) {
    let prev = 0;
    for (const x of s.level_(h).subarray(0, s.count_(h))) {
      const key = f32Key(x);
      w.varint(key - prev);
      prev = key;
    }
  }
  return w.bytes();
}

// decoding settles eager levels (a decoded sketch may compact once), so sketches are compared
// as decoded from either coding
const decodedBytes = (bytes: Uint8Array) => decodeQuantiles(bytes).encode();

describe("quantile sketch item coding", () => {
  it("codes blurred items by grid steps: well under plain deltas once items share binades, same items", () => {
    for (const [n, ratio] of [
      [30, 1],
      [1_000, 0.65],
      [100_000, 0.65],
    ] as const) {
      const s = blurred(n, n);
      const gridded = s.encode();
      const plain = plainBytes(s);
      expect(gridded.length).toBeLessThanOrEqual(plain.length * ratio);
      expect(decodedBytes(gridded)).toEqual(decodedBytes(plain));
    }
  });

  it("reads values off the grid as the same float32 items from either coding", () => {
    const r = rng(11);
    const s = new QuantileSketch();
    for (let i = 0; i < 3_000; i++) s.update((r() - 0.5) * 1e6);
    const back = decodeQuantiles(s.encode());
    expect(back.encode()).toEqual(decodedBytes(plainBytes(s)));
    expect(back.n).toBe(s.n);
  });
});

describe("a value decodes to one item, whatever else its sketch holds", () => {
  it("gives a window of one repeated value no drift against a reference that also has a rarer one", () => {
    // float32 rounds this value down: an item of it is fround(a) < a, where a may be a sketch's min
    const a = 0.03200933734130859;
    expect(Math.fround(a)).toBeLessThan(a);
    const sketch = (values: number[]) => {
      const s = new NumericSketch();
      for (const v of values) s.update(v);
      return decodeNumeric(s.encode()).quantiles;
    };
    const reference = sketch([...Array<number>(1240).fill(a), ...Array<number>(20).fill(0.016)]);
    const window = sketch(Array<number>(620).fill(a));
    // the window's items once decoded were clamped up to its min (a) while the reference's, above
    // its min 0.016, stayed fround(a): KS 1
    expect(ksStatistic(reference, window)).toBeLessThan(0.02);
    expect([...cdfPoints(reference).values]).toContain(cdfPoints(window).values[0]);
  });
});

describe("items beyond float32's range", () => {
  it("decode to finite values: a value past float32's largest is written as Infinity, and clamped back", () => {
    const s = new QuantileSketch();
    for (const v of [1e300, -1e300, 5]) s.update(v);
    const back = decodeQuantiles(s.encode());
    expect([...cdfPoints(back).values].every(Number.isFinite)).toBe(true);
    expect([back.min, back.max]).toEqual([-1e300, 1e300]);
  });
});
