import { describe, expect, it } from "vitest";
import { blurValue } from "../../../protocol/blur.ts";
import { QuantileSketch, decodeQuantiles } from "../../../protocol/sketch/index.ts";
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
