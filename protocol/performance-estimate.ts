/**
 * A classifier's performance estimated without labels, from the confidence of its predictions
 * (confidence-based performance estimation, NannyML's CBPE): the reference rows, whose labels are
 * known, tell how often a prediction of each class at each confidence is right; a window's
 * confidence histograms ({@link ClassificationSketch.confidence}) then give its expected confusion
 * matrix, and from it accuracy, precision, recall and F1 with the same arithmetic as realised
 * performance (protocol/performance.ts). It holds while the relation between inputs and labels
 * stays as in the reference (covariate shift); a change in that relation (concept drift) only
 * labels show.
 */
import { type ClassQuality, classQuality } from "./performance.ts";
import type { Estimation } from "./schema/profile.ts";
import { CONFIDENCE_BINS } from "./sketch/prediction.ts";

/** Standard deviations either side of the estimate its band spans (NannyML's rule). */
export const BAND_SIGMAS = 3;

/** Estimated performance of a window: what {@link classQuality} gives, over the rows with a score. */
export interface EstimatedQuality extends Omit<ClassQuality, "labelled"> {
  /** Rows the estimate covers (predictions with a finite score). */
  rows: number;
  /** For two classes: the ROC AUC of the second class's score. */
  roc_auc?: number;
  /** Expected log loss, when the fit has the bins' losses. */
  log_loss?: number;
}

/** Probabilities are clipped to [LOSS_EPS, 1 − LOSS_EPS] for the log loss, as scikit-learn does. */
export const LOSS_EPS = 1e-15;

/** −ln of a probability clipped as scikit-learn clips it. */
export const lossOf = (p: number) => -Math.log(Math.min(1 - LOSS_EPS, Math.max(LOSS_EPS, p)));

/** The middle of confidence bin `b`'s top scores, on its own scale (−log10(1 − score)). */
function binMiddle(b: number): number {
  return 1 - 10 ** (-((b + 0.5) * 4) / CONFIDENCE_BINS);
}

/**
 * Per predicted class, the share of reference predictions in each confidence bin that were right,
 * made non-decreasing in confidence (isotonic regression, pool-adjacent-violators, weighted by
 * rows), bins without rows interpolated linearly between their neighbours (as scikit-learn's
 * `IsotonicRegression.predict` does at the bins' centres).
 *
 * @param rows - reference predictions per bin
 * @param right - those of them that were right
 * @returns one probability per bin, or null when no bin has rows
 */
export function fitConfidenceCurve(rows: readonly number[], right: readonly number[]): number[] | null {
  const blocks: { first: number; last: number; weight: number; value: number }[] = [];
  rows.forEach((n, b) => {
    if (n <= 0) return;
    blocks.push({ first: b, last: b, weight: n, value: right[b]! / n });
    // pool while the last two blocks violate the order
    while (blocks.length > 1 && blocks[blocks.length - 2]!.value > blocks[blocks.length - 1]!.value) {
      const top = blocks.pop()!;
      const below = blocks[blocks.length - 1]!;
      below.value = (below.value * below.weight + top.value * top.weight) / (below.weight + top.weight);
      below.weight += top.weight;
      below.last = top.last;
    }
  });
  if (blocks.length === 0) return null;
  const known = new Map<number, number>();
  for (const block of blocks) for (let b = block.first; b <= block.last; b++) if (rows[b]! > 0) known.set(b, block.value);
  const at = [...known.keys()];
  return rows.map((_, b) => {
    const after = at.findIndex((k) => k >= b);
    if (after === -1) return known.get(at[at.length - 1]!)!;
    if (after === 0 || at[after] === b) return known.get(at[after]!)!;
    const [x0, x1] = [at[after - 1]!, at[after]!];
    return known.get(x0)! + ((known.get(x1)! - known.get(x0)!) * (b - x0)) / (x1 - x0);
  });
}

/**
 * Fits what {@link estimateQuality} needs from labelled reference rows: per predicted class its
 * confidence curve (classes never predicted in the reference take the curve of all predictions
 * pooled) and where its misses go (the reference's confusion matrix, each predicted class's
 * wrong predictions spread over the true classes; evenly when it had none).
 *
 * @param k - the number of classes
 * @param rows - reference predictions per class and confidence bin (`[predicted * CONFIDENCE_BINS + bin]`)
 * @param right - those of them that were right
 * @param confusion - reference rows of class `actual` predicted as `predicted`
 * @param losses - per class and bin, the sums of −ln(top score) and of −ln(1 − top score)
 * @returns null when no reference prediction had a score
 */
export function fitEstimation(
  k: number,
  rows: readonly number[],
  right: readonly number[],
  confusion: (actual: number, predicted: number) => number,
  losses: { top: readonly number[]; rest: readonly number[] },
): Omit<Estimation, "band"> | null {
  const bins = (counts: readonly number[], c: number) => counts.slice(c * CONFIDENCE_BINS, (c + 1) * CONFIDENCE_BINS);
  const pooled = (counts: readonly number[]) => Array.from({ length: CONFIDENCE_BINS }, (_, b) => counts.reduce((sum, n, i) => (i % CONFIDENCE_BINS === b ? sum + n : sum), 0));
  const all = fitConfidenceCurve(pooled(rows), pooled(right));
  if (!all) return null;
  const curves = Array.from({ length: k }, (_, c) => fitConfidenceCurve(bins(rows, c), bins(right, c)) ?? all);
  const misses = Array.from({ length: k }, (_, p) => {
    const wrong = Array.from({ length: k }, (_, a) => (a === p ? 0 : confusion(a, p)));
    const total = wrong.reduce((x, y) => x + y, 0);
    return wrong.map((n, a) => (a === p ? 0 : total > 0 ? n / total : 1 / Math.max(1, k - 1)));
  });
  const meanLosses = Array.from({ length: k }, (_, c) =>
    Array.from({ length: CONFIDENCE_BINS }, (_, b): [number, number] => {
      const at = c * CONFIDENCE_BINS + b;
      const n = rows[at]!;
      return n > 0 ? [losses.top[at]! / n, losses.rest[at]! / n] : [lossOf(binMiddle(b)), lossOf(1 - binMiddle(b))];
    }),
  );
  return { curves, misses, losses: meanLosses };
}

/**
 * The expected confusion matrix of a window: each predicted class's rows per confidence bin times
 * the chance such a prediction is right on the diagonal, the rest spread as the reference's misses.
 *
 * @param estimation - the profile's fit
 * @param confidence - the window's rows per predicted class and confidence bin
 * @returns expected rows of class `actual` predicted as `predicted`, as a function
 */
export function expectedConfusion(estimation: Pick<Estimation, "curves" | "misses">, confidence: readonly number[]): (actual: number, predicted: number) => number {
  const k = estimation.curves.length;
  const cells = new Array<number>(k * k).fill(0);
  for (let p = 0; p < k; p++) {
    let rows = 0;
    let right = 0;
    for (let b = 0; b < CONFIDENCE_BINS; b++) {
      const n = confidence[p * CONFIDENCE_BINS + b]!;
      rows += n;
      right += n * estimation.curves[p]![b]!;
    }
    for (let a = 0; a < k; a++) cells[a * k + p] = a === p ? right : (rows - right) * estimation.misses[p]![a]!;
  }
  return (actual, predicted) => cells[actual * k + predicted]!;
}

/**
 * A window's estimated accuracy, per-class precision, recall and F1 and, for two classes, ROC
 * AUC, from its confidence histograms.
 *
 * @param labels - the classes
 * @param estimation - the profile's fit
 * @param confidence - the window's rows per predicted class and confidence bin
 * @returns null when no row has a score
 */
export function estimateQuality(labels: readonly string[], estimation: Pick<Estimation, "curves" | "misses" | "losses">, confidence: readonly number[]): EstimatedQuality | null {
  const quality = classQuality(labels, expectedConfusion(estimation, confidence));
  if (!quality) return null;
  const { labelled, ...rest } = quality;
  const auc = labels.length === 2 ? expectedAuc(estimation, confidence) : undefined;
  const logLoss = expectedLogLoss(estimation, confidence);
  return { rows: labelled, ...rest, ...(auc !== undefined && { roc_auc: auc }), ...(logLoss !== undefined && { log_loss: logLoss }) };
}

/**
 * Expected log loss: a prediction right with its curve's chance costs its bin's mean −ln(top
 * score); a wrong one −ln of the true class's score, taken as the rest of the probability
 * (1 − top) spread as the reference's misses: the bin's mean −ln(1 − top) plus the misses'
 * entropy. Exact in expectation for two classes (the rest is the other class's score); for more,
 * it assumes the rest is spread as the misses are.
 */
function expectedLogLoss(estimation: Pick<Estimation, "curves" | "misses" | "losses">, confidence: readonly number[]): number | undefined {
  const losses = estimation.losses;
  if (!losses) return undefined;
  let total = 0;
  let rows = 0;
  estimation.curves.forEach((curve, p) => {
    const entropy = estimation.misses[p]!.reduce((h, share) => (share > 0 ? h - share * Math.log(share) : h), 0);
    for (let b = 0; b < CONFIDENCE_BINS; b++) {
      const n = confidence[p * CONFIDENCE_BINS + b]!;
      if (n === 0) continue;
      const [right, wrong] = losses[p]![b]!;
      total += n * (curve[b]! * right + (1 - curve[b]!) * (wrong + entropy));
      rows += n;
    }
  });
  return rows > 0 ? total / rows : undefined;
}

/**
 * Expected ROC AUC of the second class's score for two classes. With probabilities summing to 1
 * that score is the top score for predictions of the second class and 1 − it otherwise, so the
 * bins order the rows by it: the first class's bins from the most confident down, then the
 * second's up. Each bin holds its rows' expected positives and negatives; rows of one bin tie.
 */
function expectedAuc(estimation: Pick<Estimation, "curves">, confidence: readonly number[]): number | undefined {
  const groups: { positives: number; negatives: number }[] = [];
  for (let b = CONFIDENCE_BINS - 1; b >= 0; b--) {
    const n = confidence[b]!;
    groups.push({ positives: n * (1 - estimation.curves[0]![b]!), negatives: n * estimation.curves[0]![b]! });
  }
  for (let b = 0; b < CONFIDENCE_BINS; b++) {
    const n = confidence[CONFIDENCE_BINS + b]!;
    groups.push({ positives: n * estimation.curves[1]![b]!, negatives: n * (1 - estimation.curves[1]![b]!) });
  }
  let negativesBelow = 0;
  let pairs = 0;
  let positives = 0;
  for (const g of groups) {
    pairs += g.positives * (negativesBelow + g.negatives / 2);
    negativesBelow += g.negatives;
    positives += g.positives;
  }
  return positives > 0 && negativesBelow > 0 ? pairs / (positives * negativesBelow) : undefined;
}

/** Labelled reference rows of one chunk: predictions per class and confidence bin, and what they were. */
export interface LabelledChunk {
  confidence: readonly number[];
  confusion: (actual: number, predicted: number) => number;
}

/**
 * The band of label-free estimates: the standard deviation of (realised − estimated) accuracy
 * and per-class F1 over chunks of the labelled reference rows, at their mean size. It holds both
 * the sampling noise of a window of that size and the estimate's own error.
 *
 * @param labels - the classes
 * @param estimation - the fit over all the reference rows
 * @param chunks - random chunks of those rows
 */
export function bandSpread(labels: readonly string[], estimation: Pick<Estimation, "curves" | "misses">, chunks: readonly LabelledChunk[]): Estimation["band"] {
  const errors = chunks.flatMap((chunk) => {
    const realised = classQuality(labels, chunk.confusion);
    const estimated = estimateQuality(labels, estimation, chunk.confidence);
    return realised && estimated ? [{ rows: realised.labelled, realised, estimated }] : [];
  });
  const std = (values: readonly number[]) => {
    if (values.length < 2) return null;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.min(1, Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)));
  };
  const f1 = Object.fromEntries(
    labels.map((label) => [label, std(errors.flatMap(({ realised, estimated }) => (realised.f1[label] == null || estimated.f1[label] == null ? [] : [realised.f1[label]! - estimated.f1[label]!])))]),
  );
  return {
    rows: errors.length > 0 ? errors.reduce((a, e) => a + e.rows, 0) / errors.length : 1,
    accuracy: std(errors.map((e) => e.realised.accuracy - e.estimated.accuracy)) ?? 1,
    f1,
  };
}

/**
 * The half-width of an estimate's band for a window of `rows`: {@link BAND_SIGMAS} times the
 * spread of (realised − estimated) over the reference's chunks, scaled from their size to the
 * window's (sampling error falls as 1/√rows).
 *
 * @param sigma - the spread over reference chunks
 * @param chunkRows - rows per reference chunk
 * @param rows - rows of the window
 */
export function bandHalfWidth(sigma: number, chunkRows: number, rows: number): number {
  return BAND_SIGMAS * sigma * Math.sqrt(chunkRows / Math.max(rows, 1));
}
