import { KEPT_BITS } from "../blur.ts";
import { DriftlineError } from "../errors.ts";

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const f64 = /* @__PURE__ */ new Float64Array(1);
const f64Bytes = /* @__PURE__ */ new Uint8Array(f64.buffer);
const f32 = /* @__PURE__ */ new Float32Array(1);
const f32Bits = /* @__PURE__ */ new Uint32Array(f32.buffer);
/**
 * Float32 order keys between neighbouring cells of the privacy grid (protocol/blur.ts) within
 * one binade: blurred values sit on the grid, so most deltas of sorted keys are multiples of it.
 */
const GRID_STEP = 2 ** (23 - KEPT_BITS);

/** Sketch type tags: the first byte of every encoded sketch. */
export const TAG = {
  quantiles: 1,
  numeric: 2,
  categorical: 3,
  classification: 4,
  latency: 5,
  errors: 6,
  confusion: 7,
  embedding: 8,
} as const;

/**
 * A growable little-endian byte writer: unsigned varints, float64, float32 order keys, strings.
 *
 * @example
 * const w = new Writer(); w.varint(300); w.f64(0.5); w.bytes();
 */
export class Writer {
  private buf_ = new Uint8Array(64);
  private len_ = 0;

  /** Bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.buf_.slice(0, this.len_);
  }

  /** Makes room for `n` more bytes, doubling the buffer as needed. */
  private room_(n: number): void {
    if (this.len_ + n <= this.buf_.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf_.length, this.len_ + n));
    grown.set(this.buf_);
    this.buf_ = grown;
  }

  /** @param n - a non-negative safe integer */
  varint(n: number): void {
    this.room_(8);
    for (; n > 127; n = Math.floor(n / 128)) this.buf_[this.len_++] = (n % 128) | 128;
    this.buf_[this.len_++] = n;
  }

  /** @param x - any float64, stored exactly */
  f64(x: number): void {
    f64[0] = x;
    this.raw_(f64Bytes);
  }

  /** @param s - a string, written as varint length + UTF-8 */
  str(s: string): void {
    const utf8 = encoder.encode(s);
    this.varint(utf8.length);
    this.raw_(utf8);
  }

  private raw_(bytes: Uint8Array): void {
    this.room_(bytes.length);
    this.buf_.set(bytes, this.len_);
    this.len_ += bytes.length;
  }

  /**
   * A non-negative delta of float32 order keys, grid-coded: a multiple of the privacy grid's
   * step as `2 × delta / step`, any other as `2 × delta + 1` (see {@link Reader.f32s_}).
   *
   * @param delta - the difference of two ascending {@link f32Key}s
   */
  keyDelta(delta: number): void {
    this.varint(delta % GRID_STEP === 0 ? (delta / GRID_STEP) * 2 : delta * 2 + 1);
  }

  /** @param list - strings, written as varint count + each string */
  strs(list: readonly string[]): void {
    this.varint(list.length);
    list.forEach((s) => this.str(s));
  }
}

/**
 * A bounds-checked reader for {@link Writer} bytes. Every read past the end or of an
 * impossible value throws DriftlineError `decode`, so hostile bytes never crash or hang.
 */
export class Reader {
  private pos_ = 0;
  private readonly buf_: Uint8Array;

  /** @param buf - the encoded bytes */
  constructor(buf: Uint8Array) {
    this.buf_ = buf;
  }

  /** Bytes not yet read. */
  get left(): number {
    return this.buf_.length - this.pos_;
  }

  /**
   * The next `n` bytes, as a view (no copy).
   *
   * @param n - how many; more than are left throws `decode`
   */
  take(n: number): Uint8Array {
    if (n > this.left) fail("truncated");
    return this.buf_.subarray(this.pos_, (this.pos_ += n));
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.left) fail("trailing bytes");
  }

  /** @param max - the largest value allowed */
  varint(max = Number.MAX_SAFE_INTEGER): number {
    const buf = this.buf_;
    let pos = this.pos_;
    let n = 0;
    let scale = 1;
    let b;
    do {
      if (pos >= buf.length) fail("truncated");
      // at most 8 bytes: 8 × 7 bits hold any safe integer
      if (scale > 2 ** 49) fail("long varint");
      b = buf[pos++]!;
      n += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b > 0x7f);
    this.pos_ = pos;
    if (n > max) fail("value too large");
    return n;
  }

  /** A float64; `finite` rejects NaN and ±Infinity. */
  f64(finite = true): number {
    if (this.left < 8) fail("truncated");
    f64Bytes.set(this.buf_.subarray(this.pos_, (this.pos_ += 8)));
    const x = f64[0]!;
    if (finite && x - x !== 0) fail("non-finite");
    return x;
  }

  /** A string of at most `maxChars` UTF-8 bytes. */
  str(maxChars: number): string {
    const n = this.varint(Math.min(maxChars * 4, this.left));
    try {
      return decoder.decode(this.buf_.subarray(this.pos_, (this.pos_ += n)));
    } catch {
      return fail("bad UTF-8");
    }
  }

  /** A string list of at most `maxCount` entries of at most `maxChars` each. */
  strs(maxCount: number, maxChars: number): string[] {
    const n = this.count(maxCount);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str(maxChars));
    return out;
  }

  /** An entry count: at most `max`, and at most the bytes left (each entry takes ≥ 1 byte). */
  count(max: number): number {
    return this.varint(Math.min(max, this.left));
  }

  /**
   * Reads `count` ascending float32 order keys, delta-coded as varints (see {@link f32Key}),
   * into `out` as numbers clamped to `[lo, hi]`; `gridded` deltas were written by
   * {@link Writer.keyDelta}, others as plain varints. One loop over the bytes: this is most of
   * a quantile sketch's decode time.
   */
  f32s_(out: Float64Array, count: number, lo: number, hi: number, gridded: boolean): void {
    const buf = this.buf_;
    let key = 0;
    for (let i = 0; i < count; i++) {
      const b = buf[this.pos_]!;
      // one-byte deltas inline; longer ones, and the end of the bytes (undefined), via varint
      if (b < 0x80) this.pos_++;
      const v = b < 0x80 ? b : this.varint();
      if ((key += !gridded ? v : v % 2 ? (v - 1) / 2 : (v / 2) * GRID_STEP) > 0xffffffff) fail("value too large");
      const x = fromF32Key(key);
      if (x !== x) fail("NaN item");
      out[i] = Math.min(hi, Math.max(lo, x)) + 0;
    }
  }
}

/**
 * The order-preserving unsigned 32-bit key of `x` rounded to float32: sorted floats give
 * sorted keys, so sorted items delta-encode into small varints.
 *
 * @param x - a finite number
 */
export function f32Key(x: number): number {
  // tiny values round to -0, which must not sort apart from +0
  f32[0] = x;
  if (f32[0] === 0) f32[0] = 0;
  const bits = f32Bits[0]!;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/**
 * The float32 value of an {@link f32Key}.
 *
 * @param key - an unsigned 32-bit key
 */
export function fromF32Key(key: number): number {
  f32Bits[0] = key & 0x80000000 ? key & 0x7fffffff : ~key;
  return f32[0]!;
}

/** The largest finite float32. */
export const F32_MAX = 3.4028234663852886e38;

/**
 * Whether a float32 holds `x` as a finite number (|x| ≤ {@link F32_MAX}): not NaN, ±Infinity or a
 * larger number, which a float32 tensor holds as ±Infinity and whose square overflows a sketch's M2.
 *
 * @param x - a number
 */
export const isFloat32Finite = (x: number): boolean => Math.abs(x) <= F32_MAX;

/**
 * The float32 next to `x` on the side away from the middle of `[min, max]`: `x` rounded to
 * float32 down (`down`) or up, and never past the largest finite float32. Items are float32, a
 * sketch's min and max float64, so a value that is both an item and the min decodes as an item
 * clamped to `[f32Outward(min, true), f32Outward(max, false)]`: the same float32 in every sketch,
 * whatever else it holds, and finite (a value past float32's range is written as Infinity).
 *
 * @param x - a finite number
 * @param down - round down (a min), else up (a max)
 */
export function f32Outward(x: number, down: boolean): number {
  const within = Math.min(F32_MAX, Math.max(-F32_MAX, x));
  const f = Math.fround(within);
  if (down ? f <= within : f >= within) return f;
  return fromF32Key(f32Key(f) + (down ? -1 : 1));
}

/**
 * Writes a sketch's tag and format version, then its body.
 *
 * @param tag - one of {@link TAG}
 * @param version - the body's format version
 * @param write - writes the body
 */
export function encodeWith(tag: number, version: number, write: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  w.varint(tag);
  w.varint(version);
  write(w);
  return w.bytes();
}

/**
 * Checks tag and version, reads the body, and checks nothing trails it.
 *
 * @param bytes - encoded sketch
 * @param tag - the expected tag; another sketch's tag is a `sketch_mismatch`
 * @param version - the newest supported format version (every one from 1 up to it is read)
 * @param read - reads the body of the format version it is given
 */
export function decodeWith<T>(bytes: Uint8Array, tag: number, version: number, read: (r: Reader, version: number) => T): T {
  if (!(bytes instanceof Uint8Array)) fail("not bytes");
  const r = new Reader(bytes);
  const got = r.varint();
  if (got !== tag) throw new DriftlineError("sketch_mismatch", `type ${got} for ${tag}`);
  const format = r.varint();
  if (!(format >= 1 && format <= version)) fail("version");
  const out = read(r, format);
  r.end();
  return out;
}

/**
 * Throws DriftlineError `decode`.
 *
 * @param why - what is wrong with the bytes
 */
export function fail(why: string): never {
  throw new DriftlineError("decode", `sketch: ${why}`);
}

/**
 * Throws DriftlineError `limit_exceeded` unless `ok`.
 *
 * @param what - what is over the limit
 * @param n - how many there are
 * @param max - the limit
 * @param ok - whether `n` is within the limit
 * @defaultValue ok `n <= max`
 */
export function checkLimit(what: string, n: number, max: number, ok = n <= max): void {
  if (!ok) throw new DriftlineError("limit_exceeded", `${what} ${n} > ${max}`);
}

/**
 * Adds `from[i]` to `into[i]` for every `i` (count arrays of equal length).
 *
 * @param into - counts to add to
 * @param from - counts to add
 */
export function addCounts(into: number[], from: readonly number[]): void {
  from.forEach((c, i) => (into[i]! += c));
}

/**
 * Writes counts as varints (the reader knows how many).
 *
 * @param w - the writer
 * @param counts - non-negative integers
 */
export function writeCounts(w: Writer, counts: readonly number[]): void {
  for (const c of counts) w.varint(c);
}

/**
 * Reads {@link writeCounts} varints into every slot of `counts`.
 *
 * @param r - the reader
 * @param counts - the array to fill, of the written length
 */
export function readCounts(r: Reader, counts: number[]): void {
  counts.forEach((_, i) => (counts[i] = r.varint()));
}

/**
 * Throws DriftlineError `sketch_mismatch` unless `same`.
 *
 * @param same - whether the parameters match
 * @param what - which parameter differs
 */
export function expectSame(same: boolean, what: string): void {
  if (!same) throw new DriftlineError("sketch_mismatch", `${what} differs`);
}

/**
 * Whether two string lists are equal, element by element.
 *
 * @param a - first list
 * @param b - second list
 */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The engine's own base64 (TC39 "Uint8Array to/from base64"), where it has it (workerd, Chromium 140+). */
const native = Uint8Array as unknown as {
  fromBase64?: (text: string) => Uint8Array;
  prototype: { toBase64?: (this: Uint8Array) => string };
};

/**
 * Base64 of `bytes`, for JSON transport.
 *
 * @param bytes - any bytes
 */
export function toBase64(bytes: Uint8Array): string {
  if (native.prototype.toBase64) return native.prototype.toBase64.call(bytes);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Bytes of a base64 string; anything else throws DriftlineError `decode`.
 *
 * @param text - standard base64 (padding optional)
 */
export function fromBase64(text: string): Uint8Array {
  try {
    if (native.fromBase64) return native.fromBase64(text);
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return fail("base64");
  }
}

/**
 * Writes a string-keyed map, keys sorted so equal maps encode equally.
 *
 * @param w - the writer
 * @param map - the map
 * @param value - writes one value
 */
export function writeMap<V>(w: Writer, map: ReadonlyMap<string, V>, value: (v: V) => void): void {
  const keys = [...map.keys()].sort();
  w.varint(keys.length);
  for (const key of keys) {
    w.str(key);
    value(map.get(key)!);
  }
}

/**
 * Reads a {@link writeMap} map of at most `max` entries with keys of at most `maxChars`.
 *
 * @param r - the reader
 * @param max - most entries
 * @param maxChars - longest key
 * @param value - reads one value
 */
export function readMap<V>(r: Reader, max: number, maxChars: number, value: () => V): Map<string, V> {
  const n = r.count(max);
  const map = new Map<string, V>();
  for (let i = 0; i < n; i++) {
    const key = r.str(maxChars);
    if (map.has(key)) fail("duplicate key");
    map.set(key, value());
  }
  return map;
}
