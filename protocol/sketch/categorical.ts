import { DriftlineError } from "../errors.ts";
import { HEAVY_HITTERS, HEAVY_HITTER_LENGTH, type LIMITS, MAX_CATEGORIES, MAX_HEAVY_HITTERS, MAX_NAME_LENGTH } from "../limits.ts";
import { type Reader, TAG, type Writer, addCounts, checkLimit, decodeWith, encodeWith, expectSame, fail, readCounts, readMap, sameList, writeCounts, writeMap } from "./codec.ts";

/**
 * A value's text as a category: an object (or function) is its type, never `String()` of it,
 * which throws for one with no prototype and runs the app's `toString` for any other.
 *
 * @param value - any value an app gave
 */
export const valueText = (value: unknown): string => (Object(value) === value ? typeof value : String(value));

/**
 * A categorical feature: exact counts of the schema's categories, counts of missing and of
 * unseen (`other`) values, and a Misra–Gries heavy-hitters summary of the unseen values:
 * any unseen value's true count is at most `other / (capacity + 1)` above its estimate.
 * Unseen values are cut to {@link LIMITS.heavyHitterLength} characters.
 *
 * @example
 * const s = new CategoricalSketch(["basic", "pro"]);
 * s.update("pro"); s.update("enterprise"); s.other; // 1
 */
export class CategoricalSketch {
  /** The schema's categories, in order. */
  readonly categories: readonly string[];
  /** How many unseen values the heavy-hitters summary tracks. */
  readonly capacity: number;
  /** Count of each category, by position in `categories`. */
  readonly counts: number[];
  /** Values not in `categories`. */
  other = 0;
  /** Missing values (null or undefined). */
  missing = 0;
  /** Estimated counts of frequent unseen values (lower bounds). */
  readonly heavy = new Map<string, number>();
  private readonly index_ = new Map<string, number>();

  /**
   * @param categories - the schema's categories (unique)
   * @param capacity - heavy-hitters entries kept
   * @defaultValue capacity {@link LIMITS.heavyHitters}
   */
  constructor(categories: readonly string[], capacity: number = HEAVY_HITTERS) {
    const ok = Number.isInteger(capacity) && capacity >= 0 && capacity <= MAX_HEAVY_HITTERS;
    checkLimit("heavy hitters", capacity, MAX_HEAVY_HITTERS, ok);
    checkLimit("categories", categories.length, MAX_CATEGORIES);
    this.categories = [...categories];
    this.capacity = capacity;
    this.counts = categories.map(() => 0);
    categories.forEach((c, i) => this.index_.set(c, i));
    if (this.index_.size !== categories.length) throw new DriftlineError("validation", "duplicate categories");
  }

  /** Values seen, missing ones included. */
  get total(): number {
    return this.counts.reduce((a, b) => a + b, this.other + this.missing);
  }

  /**
   * Counts one value (numbers and booleans count as their string form, anything else as its
   * type: see {@link valueText}).
   *
   * @param value - the value, or null/undefined when missing
   */
  update(value: unknown): void {
    if (value == null) {
      this.missing++;
      return;
    }
    const key = valueText(value);
    const i = this.index_.get(key);
    if (i !== undefined) this.counts[i]!++;
    else {
      this.other++;
      this.add_(key.slice(0, HEAVY_HITTER_LENGTH), 1);
      if (this.heavy.size > this.capacity) this.shrink_();
    }
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same categories and capacity
   * @returns this
   */
  merge(other: CategoricalSketch): this {
    expectSame(sameList(this.categories, other.categories), "categories");
    expectSame(this.capacity === other.capacity, "capacity");
    addCounts(this.counts, other.counts);
    this.other += other.other;
    this.missing += other.missing;
    for (const [key, c] of other.heavy) this.add_(key, c);
    this.shrink_();
    return this;
  }

  /** Compact versioned bytes (heavy hitters sorted by value, so equal sketches encode equally). */
  encode(): Uint8Array {
    return encodeWith(TAG.categorical, 1, (w) => this.write_(w));
  }

  private add_(key: string, c: number): void {
    this.heavy.set(key, (this.heavy.get(key) ?? 0) + c);
  }

  /**
   * Misra–Gries reduction (Agarwal et al. 2012, mergeable summaries): subtract the
   * (capacity+1)-th largest count from all and drop what is not positive. It depends only on
   * the counts, so merge order does not matter.
   */
  private shrink_(): void {
    if (this.heavy.size <= this.capacity) return;
    const cut = [...this.heavy.values()].sort((a, b) => b - a)[this.capacity]!;
    for (const [key, c] of this.heavy) {
      if (c <= cut) this.heavy.delete(key);
      else this.heavy.set(key, c - cut);
    }
  }

  private write_(w: Writer): void {
    w.strs(this.categories);
    w.varint(this.capacity);
    writeCounts(w, this.counts);
    w.varint(this.other);
    w.varint(this.missing);
    writeMap(w, this.heavy, (c) => w.varint(c));
  }
}

/**
 * Reads {@link CategoricalSketch.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeCategorical(bytes: Uint8Array): CategoricalSketch {
  return decodeWith(bytes, TAG.categorical, 1, read);
}

function read(r: Reader): CategoricalSketch {
  const categories = r.strs(MAX_CATEGORIES, MAX_NAME_LENGTH);
  const s = new CategoricalSketch(categories, r.varint(MAX_HEAVY_HITTERS));
  readCounts(r, s.counts);
  s.other = r.varint();
  s.missing = r.varint();
  let sum = 0;
  for (const [key, c] of readMap(r, s.capacity, HEAVY_HITTER_LENGTH, () => r.varint())) {
    if (c < 1) fail("heavy hitters");
    s.heavy.set(key, c);
    sum += c;
  }
  if (sum > s.other) fail("heavy hitters");
  return s;
}
