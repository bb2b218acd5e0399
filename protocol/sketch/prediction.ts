import { DriftlineError } from "../errors.ts";
import { LIMITS } from "../limits.ts";
import { type Reader, TAG, type Writer, decodeWith, encodeWith, expectSame, sameList } from "./codec.ts";
import { DEFAULT_K, QuantileSketch } from "./quantiles.ts";

const VERSION = 1;

/**
 * Classification predictions: count per predicted class and a quantile sketch of the
 * top-class score. (Regression predictions use a {@link NumericSketch}.)
 *
 * @example
 * const s = new ClassificationSketch(["no", "yes"]);
 * s.updateProbabilities([0.2, 0.8]); s.counts; // [0, 1]
 */
export class ClassificationSketch {
  /** Class labels, in output order. */
  readonly labels: readonly string[];
  /** Predictions per class, by position in `labels`. */
  readonly counts: number[];
  /** Quantiles of the top-class score. */
  readonly scores: QuantileSketch;

  /**
   * @param labels - class labels, in output order
   * @param k - KLL size parameter of the score sketch
   * @defaultValue k {@link DEFAULT_K}
   */
  constructor(labels: readonly string[], k = DEFAULT_K) {
    this.labels = checkLabels(labels);
    this.counts = labels.map(() => 0);
    this.scores = new QuantileSketch(k);
  }

  /**
   * Counts one prediction.
   *
   * @param label - index of the predicted class
   * @param score - its score (skipped when not finite)
   */
  update(label: number, score = NaN): void {
    if (!(label >= 0 && label < this.counts.length)) {
      throw new DriftlineError("validation", `class index ${label} out of 0..${this.counts.length - 1}`);
    }
    this.counts[label | 0]!++;
    this.scores.update(score);
  }

  /**
   * Counts the top class of one score vector (first maximum wins ties).
   *
   * @param scores - one score per class
   */
  updateProbabilities(scores: ArrayLike<number>): void {
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
    this.update(best, scores[best]);
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same labels and `k`
   * @returns this
   */
  merge(other: ClassificationSketch): this {
    expectSame(sameList(this.labels, other.labels), "labels");
    other.counts.forEach((c, i) => (this.counts[i]! += c));
    this.scores.merge(other.scores);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.classification, VERSION, (w) => this.write(w));
  }

  /**
   * Reads {@link ClassificationSketch.encode} bytes; malformed input throws DriftlineError `decode`.
   *
   * @param bytes - encoded sketch
   */
  static decode(bytes: Uint8Array): ClassificationSketch {
    return decodeWith(bytes, TAG.classification, VERSION, read);
  }

  private write(w: Writer): void {
    w.strs(this.labels);
    for (const c of this.counts) w.varint(c);
    this.scores.write(w);
  }
}

function read(r: Reader): ClassificationSketch {
  const labels = r.strs(LIMITS.categories, LIMITS.nameLength);
  const counts = labels.map(() => r.varint());
  const scores = QuantileSketch.read(r);
  const s = new ClassificationSketch(labels, scores.k);
  counts.forEach((c, i) => (s.counts[i] = c));
  Object.assign(s, { scores });
  return s;
}

/**
 * Checks a label list (unique, within {@link LIMITS.categories}) and copies it.
 *
 * @param labels - class labels
 */
export function checkLabels(labels: readonly string[]): string[] {
  if (labels.length > LIMITS.categories) {
    throw new DriftlineError("limit_exceeded", `${labels.length} labels, limit ${LIMITS.categories}`);
  }
  if (new Set(labels).size !== labels.length) throw new DriftlineError("validation", "duplicate labels");
  return [...labels];
}
