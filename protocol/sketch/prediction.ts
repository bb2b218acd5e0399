import { DriftlineError } from "../errors.ts";
import { type LIMITS, MAX_CATEGORIES, MAX_LABELS, MAX_NAME_LENGTH } from "../limits.ts";
import { type Reader, TAG, type Writer, addCounts, checkLimit, decodeWith, encodeWith, expectSame, fail, readCounts, sameList, writeCounts } from "./codec.ts";
import { DEFAULT_K, QuantileSketch, readQuantiles } from "./quantiles.ts";

/** Bins of the top-class score in {@link ClassificationSketch.confidence}. */
export const CONFIDENCE_BINS = 32;
/** Decades of the miss probability (1 − top score) the confidence bins cover: 0.9999 and above share the last bin. */
const CONFIDENCE_DECADES = 4;

/**
 * The confidence bin of a top-class score: equal steps of −log10(1 − score), 8 a decade, so the
 * scores of a confident model (0.99, 0.999 …) still fall into different bins; scores at or
 * below 0 go to the first bin, at or above 0.9999 to the last.
 *
 * @param score - a finite top-class score
 */
export function confidenceBin(score: number): number {
  const decades = -Math.log10(Math.max(1 - score, 10 ** -CONFIDENCE_DECADES));
  return Math.max(0, Math.min(CONFIDENCE_BINS - 1, Math.floor((decades * CONFIDENCE_BINS) / CONFIDENCE_DECADES)));
}

/**
 * The entropy of one score vector, normalised to 0–1: −Σ p ln p / ln K over the K scores made to
 * sum to 1 (negative ones as 0); NaN for fewer than two classes or no positive score.
 *
 * @param scores - one score per class
 * @param from - where in `scores` the vector starts
 * @param k - classes
 */
export function normalisedEntropy(scores: ArrayLike<number>, from = 0, k = scores.length - from): number {
  let total = 0;
  for (let i = from; i < from + k; i++) total += Math.max(0, scores[i]!);
  if (k < 2 || !(total > 0) || !Number.isFinite(total)) return NaN;
  let h = 0;
  for (let i = from; i < from + k; i++) {
    const p = Math.max(0, scores[i]!) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.min(1, h / Math.log(k));
}

/**
 * Classification predictions: count per predicted class, quantile sketches of the top-class
 * score and of the output's {@link normalisedEntropy}, and per predicted class a histogram of the
 * top score in {@link CONFIDENCE_BINS} bins (what the collector estimates performance without
 * labels from: protocol/performance-estimate.ts). (Regression predictions use a {@link NumericSketch}.)
 *
 * @example
 * const s = new ClassificationSketch(["no", "yes"]);
 * addProbabilities(s, [0.2, 0.8]); s.counts; // [0, 1]
 */
export class ClassificationSketch {
  /** Class labels, in output order. */
  readonly labels: readonly string[];
  /** Predictions per class, by position in `labels`. */
  readonly counts: number[];
  /** Quantiles of the top-class score. */
  readonly scores: QuantileSketch;
  /** Quantiles of the outputs' normalised entropy (0–1); empty in sketches before format 3 and for outputs without scores. */
  readonly entropy: QuantileSketch;
  /**
   * Rows with a finite score per predicted class and {@link confidenceBin} of the score:
   * `confidence[predicted * CONFIDENCE_BINS + bin]`. All 0 in sketches of format 1 (before it);
   * empty for more than {@link MAX_LABELS} classes.
   */
  readonly confidence: number[];

  /**
   * @param labels - class labels, in output order
   * @param k - KLL size parameter of the score sketch
   * @defaultValue k {@link DEFAULT_K}
   */
  constructor(labels: readonly string[], k = DEFAULT_K) {
    this.labels = checkLabels(labels);
    this.counts = labels.map(() => 0);
    this.scores = new QuantileSketch(k);
    this.entropy = new QuantileSketch(k);
    this.confidence = new Array<number>(labels.length <= MAX_LABELS ? labels.length * CONFIDENCE_BINS : 0).fill(0);
  }

  /**
   * Counts one prediction.
   *
   * @param label - index of the predicted class
   * @param score - its score (skipped when not finite)
   * @param entropy - the output's {@link normalisedEntropy} (skipped when not finite)
   */
  update(label: number, score = NaN, entropy = NaN): void {
    checkIndex(label, this.counts.length);
    this.counts[label | 0]!++;
    this.scores.update(score);
    this.entropy.update(entropy);
    if (Number.isFinite(score) && this.confidence.length > 0) this.confidence[(label | 0) * CONFIDENCE_BINS + confidenceBin(score)]!++;
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
    this.entropy.merge(other.entropy);
    addCounts(this.confidence, other.confidence);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.classification, 3, (w) => this.write_(w));
  }

  private write_(w: Writer): void {
    w.strs(this.labels);
    writeCounts(w, this.counts);
    this.scores.write(w);
    writeCounts(w, this.confidence);
    this.entropy.write(w);
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
  return decodeWith(bytes, TAG.classification, 3, read);
}

function read(r: Reader, format: number): ClassificationSketch {
  const s = new ClassificationSketch(r.strs(MAX_CATEGORIES, MAX_NAME_LENGTH));
  readCounts(r, s.counts);
  Object.assign(s, { scores: readQuantiles(r) });
  if (format >= 2) {
    readCounts(r, s.confidence);
    if (s.confidence.length > 0)
      s.counts.forEach((n, c) => {
        let binned = 0;
        for (let b = 0; b < CONFIDENCE_BINS; b++) binned += s.confidence[c * CONFIDENCE_BINS + b]!;
        if (binned > n) fail(`class ${c}: ${binned} scores binned of ${n} predictions`);
      });
  }
  if (format >= 3) {
    const entropy = readQuantiles(r);
    const predictions = s.counts.reduce((a, b) => a + b, 0);
    if (entropy.n > predictions) fail(`${entropy.n} entropies of ${predictions} predictions`);
    if (entropy.n > 0 && (entropy.min < 0 || entropy.max > 1)) fail(`entropy outside 0–1 (${entropy.min}–${entropy.max})`);
    Object.assign(s, { entropy });
  }
  return s;
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
 * Throws DriftlineError `validation` unless `i` is a class index below `k` (a whole number: 0.5
 * would count as class 0).
 *
 * @param i - the index
 * @param k - the number of classes
 */
export function checkIndex(i: number, k: number): void {
  if (!(i >= 0 && i < k && i % 1 === 0)) throw new DriftlineError("validation", `class ${i} of ${k}`);
}

/**
 * Adds one score vector to a classification sketch: its top class (first maximum wins ties),
 * that class's score and the vector's {@link normalisedEntropy}. A function, not a method, so the
 * browser runtime, which decodes its outputs its own way (runtime/outputs.ts), does not bundle it.
 *
 * @param sketch - the sketch
 * @param scores - one score per class
 */
export function addProbabilities(sketch: ClassificationSketch, scores: ArrayLike<number>): void {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  sketch.update(best, scores[best], normalisedEntropy(scores));
}
