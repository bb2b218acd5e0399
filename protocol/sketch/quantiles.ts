import { finalMix } from "../hash.ts";
import { type Reader, TAG, type Writer, decodeWith, encodeWith, expectSame, f32Key, f32Outward, fail } from "./codec.ts";

const VERSION = 1;
/** Smallest level capacity (KLL's m). */
const MIN_CAPACITY = 8;
/** Capacity ratio between consecutive levels (KLL's c). */
const RATIO = 2 / 3;
const MAX_LEVELS = 60;
/**
 * Added to the level count of an encoded body whose item deltas are grid-coded
 * ({@link Writer.keyDelta}); bodies written before that have at most MAX_LEVELS levels.
 */
const GRID_CODED = 64;
/**
 * Levels of capacity below 2 × EAGER are compacted as soon as they hold max(capacity, EAGER)
 * items, room or not; the others wait until the sketch is full (lazy compaction). Sorting level
 * 0 and merging into the low levels are most of the update cost, and grow with those levels'
 * lengths. The low levels weigh little (at most 2^7 at k = 200 and 1e6 values, against 2^12 at
 * the top), so the extra compactions cost no measurable accuracy (see protocol/README.md).
 */
const EAGER = 2 * MIN_CAPACITY;
const MAX_K = 4096;
const bits = /* @__PURE__ */ new Uint32Array(2);
const asFloat = /* @__PURE__ */ new Float64Array(bits.buffer);
const EMPTY: Float64Array = /* @__PURE__ */ new Float64Array(0);
/**
 * Per length up to EAGER, Batcher's odd-even merge sort network as index pairs (63
 * compare-exchanges for 16 items), built once: reading a table beats re-running these loops in
 * {@link sort}.
 */
const NETWORKS: Int8Array[] = /* @__PURE__ */ Array.from({ length: EAGER + 1 }, (_, len) => {
  const pairs: number[] = [];
  for (let p = 1; p < len; p += p)
    for (let k = p; k > 0; k >>= 1) for (let j = k % p; j + k < len; j += 2 * k) for (let i = j; i < j + k && i + k < len; i++) if ((i ^ (i + k)) < 2 * p) pairs.push(i, i + k);
  return Int8Array.from(pairs);
});

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
  // Members ending in "_" are internal; those not marked private are also used by
  // readQuantiles and cdfPoints (below), which stay outside the class so that bundles that
  // never decode or query (the browser runtime) drop them.
  // Level 0 lives in its own fields so `update` is one compare and a store. It is an unsorted
  // bag whose first `sorted_` items are ascending; its array holds at least `fill_` items.
  buf_: Float64Array = EMPTY;
  len_ = 0;
  sorted_ = 0;
  /** Level 0 length at which the sketch is full: `capacity_` minus the items above level 0. */
  room_ = 0;
  /** Level 0 length at which `update` settles: `room_`, less when level 0 is eager or its array is full. */
  private fill_ = 0;
  /** Levels (index 0 unused: level 0 is `buf_`), each ascending. */
  levels_: Float64Array[] = [];
  lens_: number[] = [];
  /** Per level: the next compaction's coin (0 or 1), or 2 before the first compaction. */
  coins_: number[] = [];
  private caps_: number[] = [];
  /** Per level: the length at which it is compacted even when the sketch has room. */
  private eager_: number[] = [];
  private capacity_ = 0;

  /**
   * @param k - the size parameter, 8 to 4096
   * @defaultValue k {@link DEFAULT_K}
   */
  constructor(k = DEFAULT_K) {
    if (!(Number.isInteger(k) && k >= MIN_CAPACITY && k <= MAX_K)) fail(`bad k ${k}`);
    this.k = k;
    // level 0 is sized when the first update settles
    this.height_(1);
  }

  /**
   * Adds one value; NaN and ±Infinity are ignored (callers count them).
   *
   * @param x - the value
   */
  update(x: number): void {
    if (x - x !== 0) return;
    // +0 for -0: the compaction coin hashes an item's bits, and merge order must not change it
    x += 0;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    this.n++;
    if (this.len_ >= this.fill_) this.settle_(true);
    this.buf_[this.len_++] = x;
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
    this.height_(other.lens_.length);
    const len = this.len_;
    const add = other.len_;
    this.buf_ = grown(this.buf_, len, len + add);
    if (this.sorted_ === len && other.sorted_ === add) {
      mergeBack(this.buf_, len, other.buf_, 0, 1, add);
      this.sorted_ += add;
    } else this.buf_.set(other.buf_.subarray(0, add), len);
    this.len_ += add;
    for (let h = 0; h < other.lens_.length; h++) {
      if (h > 0) this.push_(h, other.levels_[h]!, 0, 1, other.lens_[h]!);
      this.coins_[h] = mergeCoins(this.coins_[h]!, other.coins_[h]!);
    }
    this.n += other.n;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.settle_();
    return this;
  }

  /**
   * Lets go of the growth slack of its arrays (they grow by doubling, so a sketch merged many
   * times holds several times the items it retains): the items stay as they are, later updates
   * and merges grow the arrays again. For holders of many decoded sketches (the collector).
   */
  shrink(): void {
    if (this.buf_.length > this.len_) {
      this.buf_ = this.buf_.slice(0, this.len_);
      this.fill_ = Math.min(this.fill_, this.len_);
    }
    for (let h = 1; h < this.levels_.length; h++) if (this.levels_[h]!.length > this.lens_[h]!) this.levels_[h] = this.levels_[h]!.slice(0, this.lens_[h]!);
  }

  /** Compact versioned bytes; see {@link decodeQuantiles}. */
  encode(): Uint8Array {
    return encodeWith(TAG.quantiles, VERSION, (w) => this.write(w));
  }

  /**
   * Writes the body (for sketches that embed this one).
   *
   * @param w - the writer
   */
  write(w: Writer): void {
    const height = this.lens_.length;
    w.varint(this.k);
    w.varint(height + GRID_CODED);
    for (let h = 0; h < height; h++) w.varint(this.count_(h) * 3 + this.coins_[h]!);
    if (this.n === 0) return;
    w.f64(this.min);
    w.f64(this.max);
    // level 0 is an unordered bag: sorting it changes nothing but makes the deltas small
    this.sort_();
    for (let h = 0; h < height; h++) {
      const level = this.level_(h);
      let prev = 0;
      for (let i = 0; i < this.count_(h); i++) {
        const key = f32Key(level[i]!);
        w.keyDelta(key - prev);
        prev = key;
      }
    }
  }

  level_(h: number): Float64Array {
    return h ? this.levels_[h]! : this.buf_;
  }

  count_(h: number): number {
    return h ? this.lens_[h]! : this.len_;
  }

  /** Grows the sketch to `height` levels (at least), recomputing the level capacities. */
  height_(height: number): void {
    const levels = this.lens_.length;
    if (levels >= height) return;
    for (let h = levels; h < height; h++) {
      this.levels_.push(EMPTY);
      this.lens_.push(0);
      this.coins_.push(2);
    }
    this.caps_ = this.lens_.map((_, h) => Math.max(MIN_CAPACITY, Math.round(this.k * RATIO ** (height - 1 - h))));
    this.eager_ = this.caps_.map((cap) => (cap < 2 * EAGER ? Math.max(cap, EAGER) : Infinity));
    const capacity = this.caps_.reduce((a, b) => a + b);
    this.room_ += capacity - this.capacity_;
    this.capacity_ = capacity;
  }

  /**
   * Compacts the lowest full level until the sketch is below capacity, then the eager levels;
   * with `arriving`, makes room in level 0 for the item `update` is about to add.
   */
  settle_(arriving?: boolean): void {
    while (this.len_ >= this.room_) {
      let h = 0;
      if (this.len_ < this.caps_[0]!) for (h = 1; this.lens_[h]! < this.caps_[h]!; h++);
      this.compact_(h);
    }
    for (let h = 0; this.count_(h) >= this.eager_[h]!; h++) this.compact_(h);
    const settleAt = Math.min(this.room_, this.eager_[0]!);
    // level 0 grows by doubling as items arrive, not to its full room at once, and not before
    // one does: the collector decodes thousands of sketches that are merged and dropped, or
    // held, but never take an update
    if (arriving && this.len_ >= this.buf_.length && settleAt > this.len_) this.buf_ = grown(this.buf_, this.len_, Math.min(settleAt, Math.max(this.len_ + 1, EAGER)));
    this.fill_ = Math.min(settleAt, this.buf_.length);
  }

  /** Sorts level 0 (once: `sorted_` remembers). */
  private sort_(): void {
    if (this.sorted_ < this.len_) sort(this.buf_, this.len_);
    this.sorted_ = this.len_;
  }

  /**
   * Halves level `h` into level `h + 1`: sort, keep one item if the count is odd, promote
   * every other item starting at offset `coin`. The first coin of a level is hashed from the
   * data; later ones alternate, so consecutive compaction errors cancel instead of adding up.
   */
  private compact_(h: number): void {
    if (h === this.lens_.length - 1) this.height_(h + 2);
    if (h === 0) this.sort_();
    const level = this.level_(h);
    const len = this.count_(h);
    const odd = len & 1;
    asFloat[0] = level[odd]!;
    const coin = this.coins_[h] === 2 ? finalMix(bits[0]! ^ bits[1]! ^ this.n ^ (h << 24)) & 1 : this.coins_[h]!;
    this.coins_[h] = 1 - coin;
    this.push_(h + 1, level, odd + coin, 2, len >>> 1);
    if (h) {
      this.lens_[h] = odd;
      this.room_ += len - odd;
    } else this.len_ = this.sorted_ = odd;
  }

  /** Merges the ascending items `src[from + i * step]`, i < count, into level `h` ≥ 1. */
  private push_(h: number, src: Float64Array, from: number, step: number, count: number): void {
    const len = this.lens_[h]!;
    const dst = (this.levels_[h] = grown(this.levels_[h]!, len, len + count));
    mergeBack(dst, len, src, from, step, count);
    this.lens_[h] = len + count;
    this.room_ -= count;
  }
}

/** Each sketch's points and its `n` when they were computed: any change to the items changes `n`. */
const pointsCache = /* @__PURE__ */ new WeakMap<QuantileSketch, { n: number; points: CdfPoints }>();

/**
 * The retained values of `s` in ascending order with the CDF at each (cached until `s`
 * changes). A function, not a method, so bundles that never query (the browser runtime)
 * leave it out.
 *
 * @param s - the sketch
 */
export function cdfPoints(s: QuantileSketch): CdfPoints {
  const cached = pointsCache.get(s);
  if (cached?.n === s.n) return cached.points;
  // every item with its weight 2^h; a stable sort keeps the lower level first among ties
  const items: number[][] = [];
  s.lens_.forEach((_, h) =>
    s
      .level_(h)
      .subarray(0, s.count_(h))
      .forEach((x) => items.push([x, 2 ** h])),
  );
  items.sort((a, b) => a[0]! - b[0]!);
  const values = new Float64Array(items.length);
  const cdf = new Float64Array(items.length);
  let sum = 0;
  items.forEach(([x, w], i) => {
    values[i] = x!;
    cdf[i] = (sum += w!) / s.n;
  });
  const points = { values, cdf };
  pointsCache.set(s, { n: s.n, points });
  return points;
}

/**
 * Reads {@link QuantileSketch.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeQuantiles(bytes: Uint8Array): QuantileSketch {
  return decodeWith(bytes, TAG.quantiles, VERSION, readQuantiles);
}

/**
 * Reads a body written by {@link QuantileSketch.write} (for sketches that embed one).
 *
 * @param r - the reader
 */
export function readQuantiles(r: Reader): QuantileSketch {
  const s = new QuantileSketch(r.varint(MAX_K));
  const field = r.varint(GRID_CODED + MAX_LEVELS);
  const gridded = field >= GRID_CODED;
  const height = gridded ? field - GRID_CODED : field;
  if (height < 1 || height > MAX_LEVELS) fail("level count");
  s.height_(height);
  let total = 0;
  for (let h = 0; h < height; h++) {
    const v = r.varint(r.left * 3 + 2);
    const len = (v - (s.coins_[h] = v % 3)) / 3;
    if (h) {
      s.lens_[h] = len;
      s.room_ -= len;
    } else s.len_ = s.sorted_ = len;
    s.n += len * 2 ** h;
    total += len;
  }
  // every item takes a byte or more; checked before allocating for hostile lengths
  if (total > r.left) fail("truncated");
  // one allocation for all levels: a decoded sketch is mostly merged and dropped
  const items = new Float64Array(total);
  for (let h = 0, at = 0; h < height; at += s.count_(h++)) {
    const level = items.subarray(at, at + s.count_(h));
    if (h) s.levels_[h] = level;
    else s.buf_ = level;
  }
  if (s.n > Number.MAX_SAFE_INTEGER) fail("count too large");
  if (s.n > 0) {
    s.min = r.f64();
    s.max = r.f64();
    if (s.min > s.max) fail("min above max");
    // keys are delta-coded, so every level decodes ascending; items are float32s within the
    // float32s around min and max (an item equal to the min stays the float32 it is elsewhere)
    const [lo, hi] = [f32Outward(s.min, true), f32Outward(s.max, false)];
    for (let h = 0; h < height; h++) r.f32s_(s.level_(h), s.count_(h), lo, hi, gridded);
  }
  s.settle_();
  return s;
}

/** `a` if it holds `need` items, else a copy of its first `len` items with room for `need`. */
function grown(a: Float64Array, len: number, need: number): Float64Array {
  if (a.length >= need) return a;
  const next = new Float64Array(Math.max(need, a.length * 2));
  next.set(a.subarray(0, len));
  return next;
}

/**
 * Merges ascending `src[from + j * step]`, j < count, into ascending `dst[0..len)` in place,
 * from the back (`dst` has room for `len + count`).
 */
function mergeBack(dst: Float64Array, len: number, src: Float64Array, from: number, step: number, count: number): void {
  let i = len - 1;
  let out = len + count - 1;
  for (let j = from + (count - 1) * step; j >= from; j -= step) {
    const x = src[j]!;
    while (i >= 0 && dst[i]! > x) dst[out--] = dst[i--]!;
    dst[out--] = x;
  }
}

/** Merged coin state: commutative, and a level's alternation survives merging. */
function mergeCoins(a: number, b: number): number {
  return a === 2 ? b : b === 2 ? a : a ^ b;
}

/**
 * Sorts `a[0..len)` ascending in place: level 0 (up to EAGER items) through a sorting network,
 * longer runs through the engine's sort. A compare-exchange selects with 0/1 factors instead of
 * branching on the data (the insertion sort this replaced was half the update cost): items are
 * finite and never -0, so `x * 1 + y * 0` is exactly `x` and the order is that of any sort.
 */
function sort(a: Float64Array, len: number): void {
  if (len > EAGER) a.subarray(0, len).sort();
  else {
    const net = NETWORKS[len]!;
    for (let t = 0; t < net.length; t += 2) {
      const i = net[t]!;
      const j = net[t + 1]!;
      const x = a[i]!;
      const y = a[j]!;
      const swap = +(y < x);
      a[i] = x * (1 - swap) + y * swap;
      a[j] = y * (1 - swap) + x * swap;
    }
  }
}
