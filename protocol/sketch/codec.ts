import { DriftlineError } from "../errors.ts";

const encoder = /* @__PURE__ */ new TextEncoder();
const decoder = /* @__PURE__ */ new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const f64 = /* @__PURE__ */ new Float64Array(1);
const f64Bytes = /* @__PURE__ */ new Uint8Array(f64.buffer);
const f32 = /* @__PURE__ */ new Float32Array(1);
const f32Bits = /* @__PURE__ */ new Uint32Array(f32.buffer);

/** Sketch type tags: the first byte of every encoded sketch. */
export const TAG = {
  quantiles: 1,
  numeric: 2,
  categorical: 3,
  classification: 4,
  latency: 5,
  errors: 6,
  confusion: 7,
} as const;

/**
 * A growable little-endian byte writer: unsigned varints, float64, float32 order keys, strings.
 *
 * @example
 * const w = new Writer(); w.varint(300); w.f64(0.5); w.bytes();
 */
export class Writer {
  private buf = new Uint8Array(256);
  private pos = 0;

  /** Bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** @param n - bytes about to be written */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf);
    this.buf = next;
  }

  /** @param n - a non-negative safe integer */
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** @param x - any float64, stored exactly */
  f64(x: number): void {
    this.room(8);
    f64[0] = x;
    this.buf.set(f64Bytes, this.pos);
    this.pos += 8;
  }

  /** @param s - a string, written as varint length + UTF-8 */
  str(s: string): void {
    const utf8 = encoder.encode(s);
    this.varint(utf8.length);
    this.room(utf8.length);
    this.buf.set(utf8, this.pos);
    this.pos += utf8.length;
  }

  /** @param list - strings, written as varint count + each string */
  strs(list: readonly string[]): void {
    this.varint(list.length);
    for (const s of list) this.str(s);
  }
}

/**
 * A bounds-checked reader for {@link Writer} bytes. Every read past the end or of an
 * impossible value throws DriftlineError `decode`, so hostile bytes never crash or hang.
 */
export class Reader {
  private pos = 0;

  /** @param buf - the encoded bytes */
  constructor(private readonly buf: Uint8Array) {}

  /** Bytes not yet read. */
  get left(): number {
    return this.buf.length - this.pos;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.left !== 0) fail(`${this.left} trailing bytes`);
  }

  /** @param max - the largest value allowed */
  varint(max = Number.MAX_SAFE_INTEGER): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) fail("truncated");
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (n > max) fail(`value ${n} over ${max}`);
        return n;
      }
      scale *= 0x80;
    }
    return fail("varint too long");
  }

  /** A float64; `finite` rejects NaN and ±Infinity. */
  f64(finite = true): number {
    if (this.left < 8) fail("truncated");
    f64Bytes.set(this.buf.subarray(this.pos, this.pos + 8));
    this.pos += 8;
    const x = f64[0]!;
    if (finite && !Number.isFinite(x)) fail("non-finite number");
    return x;
  }

  /** A string of at most `maxChars` UTF-8 bytes. */
  str(maxChars: number): string {
    const n = this.varint(Math.min(maxChars * 4, this.left));
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return decoder.decode(s);
    } catch {
      return fail("invalid UTF-8");
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
 * @param version - the supported format version
 * @param read - reads the body
 */
export function decodeWith<T>(bytes: Uint8Array, tag: number, version: number, read: (r: Reader) => T): T {
  if (!(bytes instanceof Uint8Array)) fail("not bytes");
  const r = new Reader(bytes);
  const got = r.varint();
  if (got !== tag) throw new DriftlineError("sketch_mismatch", `expected sketch type ${tag}, got ${got}`);
  const v = r.varint();
  if (v !== version) fail(`unsupported format version ${v}`);
  const out = read(r);
  r.end();
  return out;
}

/**
 * Throws DriftlineError `decode`.
 *
 * @param why - what is wrong with the bytes
 */
export function fail(why: string): never {
  throw new DriftlineError("decode", `malformed sketch: ${why}`);
}

/**
 * Throws DriftlineError `sketch_mismatch` unless `same`.
 *
 * @param same - whether the parameters match
 * @param what - which parameter differs
 */
export function expectSame(same: boolean, what: string): void {
  if (!same) throw new DriftlineError("sketch_mismatch", `sketches differ in ${what}`);
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

/**
 * Base64 of `bytes`, for JSON transport.
 *
 * @param bytes - any bytes
 */
export function toBase64(bytes: Uint8Array): string {
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
  let s: string;
  try {
    s = atob(text);
  } catch {
    return fail("invalid base64");
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
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
    if (map.has(key)) fail(`duplicate key ${key}`);
    map.set(key, value());
  }
  return map;
}
