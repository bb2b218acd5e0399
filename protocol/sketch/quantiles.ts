import { finalMix } from "../hash.ts";
import { Reader, TAG, Writer, decodeWith, encodeWith, expectSame, f32Key, fail, fromF32Key } from "./codec.ts";

const VERSION = 1;
/** Smallest level capacity (KLL's m). */
const MIN_CAPACITY = 8;
/** Capacity ratio between consecutive levels (KLL's c). */
const RATIO = 2 / 3;
const MAX_LEVELS = 60;
const bits = /* @__PURE__ */ new Uint32Array(/* @__PURE__ */ new Float64Array(1).buffer);
const asFloat = /* @__PURE__ */ new Float64Array(bits.buffer);

/** Default KLL size parameter: ≤ 1% normalised rank error (see protocol/README.md). */
export const DEFAULT_K = 200;

/** The sorted retained items of a sketch and the CDF at each. */
export interface CdfPoints {
  /** Retained values, ascending. */
  readonly values: Float64Array;
  /** Fraction of the weight at or below `values[i]`. */
  readonly cdf: Float64Array;
}

/**
 * A KLL quantile sketch (Karnin, Lang, Liberty 2016) of finite numbers: mergeable, with a
 * rank error that does not depend on the values' scale. Compaction coins are derived from the
 * sketch's own state, so results are reproducible and `merge(a, b)` equals `merge(b, a)`.
 * Encoded items are rounded to float32 (min and max stay exact).
 *
 * @example
 * const s = new QuantileSketch();
 * for (const x of xs) s.update(x);
 * quantile(s, 0.95); cdf(s, 10); // from ./query.ts
 */
export class QuantileSketch {
  /** The size parameter: larger is more accurate and bigger. */
  readonly k: number;
  /** Number of values added. */
  n = 0;
  /** Smallest value added (`Infinity` when empty). */
  min = Infinity;
  /** Largest value added (`-Infinity` when empty). */
  max = -Infinity;
  private levels: Float64Array[] = [];
  private lens: number[] = [];
  /** Per level: the next compaction's coin (0 or 1), or 2 before the first compaction. */
  private coins: number[] = [];
  private caps: number[] = [];
  private capacity = 0;
  private size = 0;
  private view: CdfPoints | null = null;

  /**
   * @param k - the size parameter, 8 to 4096
   * @defaultValue k {@link DEFAULT_K}
   */
  constructor(k = DEFAULT_K) {
    if (!(Number.isInteger(k) && k >= MIN_CAPACITY && k <= 4096)) fail(`k ${k} out of range 8..4096`);
    this.k = k;
    this.addLevel();
  }

  /**
   * Adds one value; NaN and ±Infinity are ignored (callers count them).
   *
   * @param x - the value
   */
  update(x: number): void {
    if (x - x !== 0) return;
    // +0 for -0, so float32 order keys of sorted levels never decrease
    x += 0;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    this.levels[0]![this.lens[0]!++] = x;
    this.n++;
    this.view = null;
    if (++this.size >= this.capacity) this.compactLevel(this.lens.findIndex((len, h) => len >= this.caps[h]!));
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same `k`
   * @returns this
   */
  merge(other: QuantileSketch): this {
    expectSame(other.k === this.k, "k");
    if (other.n === 0) return this;
    while (this.levels.length < other.levels.length) this.addLevel();
    for (let h = 0; h < other.levels.length; h++) {
      const len = other.lens[h]!;
      if (len > 0) this.insert(h, other.levels[h]!, 0, 1, len, h > 0);
      this.coins[h] = mergeCoins(this.coins[h]!, other.coins[h]!);
    }
    this.n += other.n;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.size += other.size;
    this.settle();
    return this;
  }

  /** The retained values in ascending order with the CDF at each (cached until changed). */
  points(): CdfPoints {
    if (this.view) return this.view;
    const all: number[] = [];
    for (let h = 0; h < this.levels.length; h++) {
      const level = this.levels[h]!;
      for (let i = 0; i < this.lens[h]!; i++) all.push(level[i]!, 2 ** h);
    }
    const order = Array.from({ length: all.length / 2 }, (_, i) => i).sort((a, b) => all[2 * a]! - all[2 * b]!);
    const values = new Float64Array(order.length);
    const cdf = new Float64Array(order.length);
    let sum = 0;
    order.forEach((o, i) => {
      values[i] = all[2 * o]!;
      cdf[i] = (sum += all[2 * o + 1]!) / this.n;
    });
    return (this.view = { values, cdf });
  }

  /** Compact versioned bytes; see {@link QuantileSketch.decode}. */
  encode(): Uint8Array {
    return encodeWith(TAG.quantiles, VERSION, (w) => this.write(w));
  }

  /**
   * Reads {@link QuantileSketch.encode} bytes; malformed input throws DriftlineError `decode`.
   *
   * @param bytes - encoded sketch
   */
  static decode(bytes: Uint8Array): QuantileSketch {
    return decodeWith(bytes, TAG.quantiles, VERSION, QuantileSketch.read);
  }

  /**
   * Writes the body (for sketches that embed this one).
   *
   * @param w - the writer
   */
  write(w: Writer): void {
    w.varint(this.k);
    w.varint(this.levels.length);
    this.lens.forEach((len, h) => w.varint(len * 3 + this.coins[h]!));
    if (this.n === 0) return;
    w.f64(this.min);
    w.f64(this.max);
    // level 0 is an unordered bag: sorting it in place changes nothing but makes deltas small
    sort(this.levels[0]!, 0, this.lens[0]! - 1);
    this.levels.forEach((level, h) => {
      let prev = 0;
      for (let i = 0; i < this.lens[h]!; i++) {
        const key = f32Key(level[i]!);
        w.varint(key - prev);
        prev = key;
      }
    });
  }

  /**
   * Reads a body written by {@link QuantileSketch.write}.
   *
   * @param r - the reader
   */
  static read(r: Reader): QuantileSketch {
    const s = new QuantileSketch(r.varint(4096));
    const height = r.varint(MAX_LEVELS);
    if (height < 1) fail("no levels");
    while (s.levels.length < height) s.addLevel();
    const lens: number[] = [];
    for (let h = 0; h < height; h++) {
      const v = r.varint(r.left * 3 + 2);
      s.coins[h] = v % 3;
      lens.push((v - s.coins[h]!) / 3);
      s.n += lens[h]! * 2 ** h;
    }
    if (s.n > Number.MAX_SAFE_INTEGER) fail("count too large");
    if (s.n === 0) return s;
    s.min = r.f64();
    s.max = r.f64();
    if (s.min > s.max) fail("min above max");
    lens.forEach((len, h) => {
      const level = new Float64Array(len);
      let key = 0;
      for (let i = 0; i < len; i++) {
        key += r.varint(0xffffffff - key);
        const x = fromF32Key(key);
        if (x !== x) fail("NaN item");
        level[i] = Math.min(s.max, Math.max(s.min, x)) + 0;
      }
      s.insert(h, level, 0, 1, len, true);
      s.size += len;
    });
    s.settle();
    return s;
  }

  private addLevel(): void {
    const height = this.levels.length + 1;
    this.caps = Array.from({ length: height }, (_, h) =>
      Math.max(MIN_CAPACITY, Math.round(this.k * RATIO ** (height - 1 - h))),
    );
    this.capacity = this.caps.reduce((a, b) => a + b, 0);
    this.levels.push(new Float64Array(this.caps[height - 1]!));
    this.lens.push(0);
    this.coins.push(2);
    // level 0 grows past its own capacity when higher levels have room (lazy compaction)
    this.grow(0, this.capacity);
  }

  private grow(h: number, need: number): void {
    const level = this.levels[h]!;
    if (level.length >= need) return;
    const next = new Float64Array(Math.max(need, level.length * 2));
    next.set(level.subarray(0, this.lens[h]));
    this.levels[h] = next;
  }

  /** Compacts the lowest full level until the sketch fits its capacity. */
  private settle(): void {
    this.view = null;
    while (this.size >= this.capacity) this.compactLevel(this.lens.findIndex((len, h) => len >= this.caps[h]!));
  }

  /**
   * Halves level `h` into level `h + 1`: sort, keep one item if the count is odd, promote
   * every other item starting at offset `coin`. The first coin of a level is hashed from the
   * data; later ones alternate, so consecutive compaction errors cancel instead of adding up.
   */
  private compactLevel(h: number): void {
    if (h === this.levels.length - 1) this.addLevel();
    const level = this.levels[h]!;
    const len = this.lens[h]!;
    if (h === 0) sort(level, 0, len - 1);
    const odd = len & 1;
    asFloat[0] = level[odd]!;
    const coin = this.coins[h] === 2 ? finalMix(bits[0]! ^ bits[1]! ^ this.n ^ (h << 24)) & 1 : this.coins[h]!;
    this.coins[h] = 1 - coin;
    const half = len >>> 1;
    this.insert(h + 1, level, odd + coin, 2, half, true);
    this.lens[h] = odd;
    this.size -= half;
  }

  /**
   * Adds `count` items `src[from + i * step]` to level `h`, keeping levels above 0 sorted
   * (`sorted` says the source is ascending) by merging from the back in place.
   */
  private insert(h: number, src: Float64Array, from: number, step: number, count: number, sorted: boolean): void {
    const len = this.lens[h]!;
    this.grow(h, len + count);
    const dst = this.levels[h]!;
    this.lens[h] = len + count;
    if (h === 0) {
      for (let i = 0; i < count; i++) dst[len + i] = src[from + i * step]!;
      return;
    }
    if (!sorted) fail("unsorted level");
    let i = len - 1;
    let j = count - 1;
    for (let out = len + count - 1; j >= 0; out--) {
      const x = src[from + j * step]!;
      if (i >= 0 && dst[i]! > x) dst[out] = dst[i--]!;
      else {
        dst[out] = x;
        j--;
      }
    }
  }
}

/** Merged coin state: commutative, and a level's alternation survives merging. */
function mergeCoins(a: number, b: number): number {
  return a === 2 ? b : b === 2 ? a : a ^ b;
}

/**
 * Sorts `a[lo..hi]` ascending in place: quicksort with median-of-three pivots and insertion
 * sort for short runs. V8's TypedArray#sort costs ~70 ns per item at these sizes; this ~10.
 */
function sort(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) swap(a, i++, j--);
    }
    // recurse into the smaller side, loop on the larger: stack depth stays logarithmic
    if (j - lo < hi - i) {
      sort(a, lo, j);
      lo = i;
    } else {
      sort(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > x) a[j + 1] = a[j--]!;
    a[j + 1] = x;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
