import { MAX_LABELS, MAX_NAME_LENGTH } from "../limits.ts";
import { type Reader, TAG, addCounts, decodeWith, encodeWith, expectSame, readCounts, sameList, writeCounts } from "./codec.ts";
import { checkIndex, checkLabels } from "./prediction.ts";

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
    this.labels = checkLabels(labels, MAX_LABELS);
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
    checkIndex(actual, k);
    checkIndex(predicted, k);
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
    addCounts(this.cells, other.cells);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.confusion, 1, (w) => {
      w.strs(this.labels);
      writeCounts(w, this.cells);
    });
  }
}

/**
 * Reads {@link ConfusionMatrix.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded matrix
 */
export function decodeConfusion(bytes: Uint8Array): ConfusionMatrix {
  return decodeWith(bytes, TAG.confusion, 1, read);
}

function read(r: Reader): ConfusionMatrix {
  const m = new ConfusionMatrix(r.strs(MAX_LABELS, MAX_NAME_LENGTH));
  readCounts(r, m.cells);
  return m;
}
