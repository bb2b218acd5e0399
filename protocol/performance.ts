/**
 * Model quality from a confusion matrix: the same arithmetic for the baseline `driftline profile`
 * records on the reference data and for live performance from on-device labels.
 */

/** Accuracy and per-class precision, recall and F1 (null where a class has no support or no prediction). */
export interface ClassQuality {
  /** Rows with a label. */
  labelled: number;
  accuracy: number;
  precision: Record<string, number | null>;
  recall: Record<string, number | null>;
  f1: Record<string, number | null>;
}

/**
 * Accuracy and per-class precision, recall and F1 of a confusion matrix, as scikit-learn's
 * `precision_recall_fscore_support` (with `zero_division` giving null instead of 0).
 *
 * @param labels - the classes, in the matrix's order
 * @param count - rows of class `actual` predicted as `predicted`
 * @returns null without labelled rows
 */
export function classQuality(labels: readonly string[], count: (actual: number, predicted: number) => number): ClassQuality | null {
  const k = labels.length;
  const rowTotals = new Array<number>(k).fill(0);
  const columnTotals = new Array<number>(k).fill(0);
  let labelled = 0;
  let correct = 0;
  for (let a = 0; a < k; a++) {
    for (let p = 0; p < k; p++) {
      const n = count(a, p);
      rowTotals[a]! += n;
      columnTotals[p]! += n;
      labelled += n;
    }
    correct += count(a, a);
  }
  if (labelled === 0) return null;
  const precision: Record<string, number | null> = {};
  const recall: Record<string, number | null> = {};
  const f1: Record<string, number | null> = {};
  labels.forEach((label, c) => {
    const hits = count(c, c);
    const p = columnTotals[c]! > 0 ? hits / columnTotals[c]! : null;
    const r = rowTotals[c]! > 0 ? hits / rowTotals[c]! : null;
    precision[label] = p;
    recall[label] = r;
    f1[label] = p === null || r === null ? null : p + r > 0 ? (2 * p * r) / (p + r) : 0;
  });
  return { labelled, accuracy: correct / labelled, precision, recall, f1 };
}
