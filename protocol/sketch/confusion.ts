import { DriftlineError } from "../errors.ts";
import { LIMITS } from "../limits.ts";
import { type Reader, TAG, decodeWith, encodeWith, expectSame, sameList } from "./codec.ts";
import { checkLabels } from "./prediction.ts";

const VERSION = 1;
/** Largest label count of a confusion matrix: k×k cells must stay small. */
const MAX_LABELS = 64;

/**
 * A confusion matrix: `cells[actual * labels.length + predicted]` counts.
 *
 * @example
 * const m = new ConfusionMatrix(["no", "yes"]);
 * m.update(1, 0); m.count(1, 0); // 1
 */
export class ConfusionMatrix {
  /** Class labels, in output order. */
  readonly labels: readonly string[];
  /** Row-major counts: actual class by row, predicted class by column. */
  readonly cells: number[];

  /** @param labels - class labels, at most 64 */
  constructor(labels: readonly string[]) {
    if (labels.length > MAX_LABELS) {
      throw new DriftlineError("limit_exceeded", `${labels.length} labels, confusion matrix limit ${MAX_LABELS}`);
    }
    this.labels = checkLabels(labels);
    this.cells = new Array<number>(labels.length * labels.length).fill(0);
  }

  /**
   * Counts one labelled prediction.
   *
   * @param actual - index of the true class
   * @param predicted - index of the predicted class
   */
  update(actual: number, predicted: number): void {
    const k = this.labels.length;
    if (!(actual >= 0 && actual < k && predicted >= 0 && predicted < k)) {
      throw new DriftlineError("validation", `class index out of 0..${k - 1}`);
    }
    this.cells[(actual | 0) * k + (predicted | 0)]!++;
  }

  /**
   * The count of one cell.
   *
   * @param actual - index of the true class
   * @param predicted - index of the predicted class
   */
  count(actual: number, predicted: number): number {
    return this.cells[actual * this.labels.length + predicted] ?? 0;
  }

  /**
   * Folds `other` into this matrix.
   *
   * @param other - a matrix with the same labels
   * @returns this
   */
  merge(other: ConfusionMatrix): this {
    expectSame(sameList(this.labels, other.labels), "labels");
    other.cells.forEach((c, i) => (this.cells[i]! += c));
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.confusion, VERSION, (w) => {
      w.strs(this.labels);
      for (const c of this.cells) w.varint(c);
    });
  }

  /**
   * Reads {@link ConfusionMatrix.encode} bytes; malformed input throws DriftlineError `decode`.
   *
   * @param bytes - encoded matrix
   */
  static decode(bytes: Uint8Array): ConfusionMatrix {
    return decodeWith(bytes, TAG.confusion, VERSION, read);
  }
}

function read(r: Reader): ConfusionMatrix {
  const m = new ConfusionMatrix(r.strs(MAX_LABELS, LIMITS.nameLength));
  m.cells.forEach((_, i) => (m.cells[i] = r.varint()));
  return m;
}
