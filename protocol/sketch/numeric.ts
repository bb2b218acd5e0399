import { DriftlineError } from "../errors.ts";
import { F32_MAX, isFloat32Finite, type Reader, TAG, type Writer, decodeWith, encodeWith, expectSame, fail } from "./codec.ts";
import { DEFAULT_K, QuantileSketch, readQuantiles } from "./quantiles.ts";

/** Options of a {@link NumericSketch}. */
export interface NumericOptions {
  /**
   * Schema range: values outside it are counted in `outOfRange` (and still sketched).
   * @defaultValue no range
   */
  range?: { min: number; max: number } | undefined;
  /**
   * KLL size parameter of the quantile sketch.
   * @defaultValue {@link DEFAULT_K}
   */
  k?: number;
}

/**
 * A numeric feature (or a regression prediction): missing, non-finite and out-of-range
 * counts, mean and M2 (Welford; merged with Chan's formula), and a KLL quantile sketch.
 * Out-of-range values are what the model saw, so they stay in the moments and quantiles;
 * missing and non-finite values are only counted.
 *
 * @example
 * const s = new NumericSketch({ range: { min: 0, max: 120 } });
 * s.update(42); s.update(null); quantile(s.quantiles, 0.5); // quantile from ./query.ts
 */
export class NumericSketch {
  /** Missing values (null or undefined). */
  missing = 0;
  /** NaN and ±Infinity, and numbers past float32's range (a float32 input holds them as ±Infinity; their squares would overflow M2). */
  nonFinite = 0;
  /** Finite values outside the schema range. */
  outOfRange = 0;
  /** Mean of the finite values. */
  mean = 0;
  /** Sum of squared deviations from the mean. */
  m2 = 0;
  /** Quantiles (and min, max, count) of the finite values. */
  readonly quantiles: QuantileSketch;
  /** The schema range, if any. */
  readonly range: { readonly min: number; readonly max: number } | undefined;
  /** The range clamped to float32's: `lo_ <= x && x <= hi_` also rules out ±Infinity and NaN. */
  private readonly lo_: number;
  private readonly hi_: number;

  /**
   * @param options - range and sketch size
   * @param quantiles - its quantile sketch, when one was decoded (`k` is then that sketch's)
   */
  constructor(options: NumericOptions = {}, quantiles?: QuantileSketch) {
    const { range, k = DEFAULT_K } = options;
    if (range && !(range.min <= range.max)) throw new DriftlineError("validation", "bad range");
    this.range = range && { min: range.min, max: range.max };
    this.lo_ = Math.max(range?.min ?? -Infinity, -F32_MAX);
    this.hi_ = Math.min(range?.max ?? Infinity, F32_MAX);
    this.quantiles = quantiles ?? new QuantileSketch(k);
  }

  /** Finite values seen. */
  get count(): number {
    return this.quantiles.n;
  }

  /** Sample variance of the finite values (NaN below 2 values). */
  get variance(): number {
    return this.count > 1 ? this.m2 / (this.count - 1) : NaN;
  }

  /**
   * Counts one value: missing, non-finite, out of range or not by `value` itself; what the
   * moments and quantiles record is `recorded` (protocol/blur.ts `blurValue(value)` where
   * values must not leave a device exactly).
   *
   * @param value - a number, or null/undefined when missing
   * @param recorded - what to record of a finite value
   * @defaultValue recorded `value`
   */
  update(value: number | null | undefined, recorded = value): void {
    if (value == null) this.missing++;
    else if (value >= this.lo_ && value <= this.hi_) this.add_(recorded as number);
    else if (!isFloat32Finite(value)) this.nonFinite++;
    else {
      this.outOfRange++;
      this.add_(recorded as number);
    }
  }

  private add_(x: number): void {
    const q = this.quantiles;
    // the reciprocal does not depend on `mean`, so the division stays off the update-to-update
    // dependency chain through `mean`
    const w = 1 / (q.n + 1);
    const d = x - this.mean;
    this.mean += d * w;
    this.m2 += d * (x - this.mean);
    q.update(x);
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same range and `k`
   * @returns this
   */
  merge(other: NumericSketch): this {
    expectSame(this.lo_ === other.lo_ && this.hi_ === other.hi_, "range");
    const na = this.count;
    const nb = other.count;
    if (nb > 0) {
      const n = na + nb;
      const d = other.mean - this.mean;
      // the mean is symmetric in a and b; M2 (and anything summed over three or more merges) may
      // differ in its last bits with merge order — far below what any statistic reads
      this.mean = (na * this.mean + nb * other.mean) / n;
      this.m2 = this.m2 + other.m2 + ((d * d * na) / n) * nb;
    }
    this.quantiles.merge(other.quantiles);
    this.missing += other.missing;
    this.nonFinite += other.nonFinite;
    this.outOfRange += other.outOfRange;
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.numeric, 1, (w) => this.write_(w));
  }

  private write_(w: Writer): void {
    w.varint(this.range ? 1 : 0);
    if (this.range) {
      w.f64(this.range.min);
      w.f64(this.range.max);
    }
    w.varint(this.missing);
    w.varint(this.nonFinite);
    w.varint(this.outOfRange);
    w.f64(this.mean);
    w.f64(this.m2);
    this.quantiles.write(w);
  }
}

/**
 * Reads {@link NumericSketch.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeNumeric(bytes: Uint8Array): NumericSketch {
  return decodeWith(bytes, TAG.numeric, 1, read);
}

function read(r: Reader): NumericSketch {
  const hasRange = r.varint(1) === 1;
  const range = hasRange ? { min: r.f64(false), max: r.f64(false) } : undefined;
  if (range && !(range.min <= range.max)) fail("bad range");
  const missing = r.varint();
  const nonFinite = r.varint();
  const outOfRange = r.varint();
  const mean = r.f64();
  const m2 = r.f64();
  const quantiles = readQuantiles(r);
  if (m2 < 0 || outOfRange > quantiles.n) fail("moments");
  return Object.assign(new NumericSketch({ range }, quantiles), { missing, nonFinite, outOfRange, mean, m2 });
}
