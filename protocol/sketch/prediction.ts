import { DriftlineError } from "../errors.ts";
import { type LIMITS, MAX_CATEGORIES, MAX_NAME_LENGTH } from "../limits.ts";
import { type Reader, TAG, type Writer, addCounts, checkLimit, decodeWith, encodeWith, expectSame, readCounts, sameList, writeCounts } from "./codec.ts";
import { DEFAULT_K, QuantileSketch, readQuantiles } from "./quantiles.ts";

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
    checkIndex(label, this.counts.length);
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
    addCounts(this.counts, other.counts);
    this.scores.merge(other.scores);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.classification, 1, (w) => this.write_(w));
  }

  private write_(w: Writer): void {
    w.strs(this.labels);
    writeCounts(w, this.counts);
    this.scores.write(w);
  }
}

/**
 * Reads {@link ClassificationSketch.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeClassification(bytes: Uint8Array): ClassificationSketch {
  return decodeWith(bytes, TAG.classification, 1, read);
}

function read(r: Reader): ClassificationSketch {
  const s = new ClassificationSketch(r.strs(MAX_CATEGORIES, MAX_NAME_LENGTH));
  readCounts(r, s.counts);
  return Object.assign(s, { scores: readQuantiles(r) });
}

/**
 * Checks a label list (unique, at most `max`) and copies it.
 *
 * @param labels - class labels
 * @param max - most labels
 * @defaultValue max {@link LIMITS.categories}
 */
export function checkLabels(labels: readonly string[], max: number = MAX_CATEGORIES): string[] {
  checkLimit("labels", labels.length, max);
  if (new Set(labels).size !== labels.length) throw new DriftlineError("validation", "duplicate labels");
  return [...labels];
}

/**
 * Throws DriftlineError `validation` unless `i` is a class index below `k`.
 *
 * @param i - the index
 * @param k - the number of classes
 */
export function checkIndex(i: number, k: number): void {
  if (!(i >= 0 && i < k)) throw new DriftlineError("validation", `class ${i} of ${k}`);
}
