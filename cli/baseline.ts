import { bandSpread, fitEstimation, lossOf } from "../protocol/performance-estimate.ts";
import { classQuality } from "../protocol/performance.ts";
import type { BaselinePerformance, Estimation } from "../protocol/schema/profile.ts";
import { CONFIDENCE_BINS, confidenceBin } from "../protocol/sketch/prediction.ts";
import { MAX_LABELS } from "../protocol/limits.ts";
import { pairedLabel } from "../protocol/blur.ts";
import { CliError } from "./args.ts";
import { type TargetRecording, targetRecording } from "./target-recording.ts";
import { seededRandom } from "../protocol/seeded-random.ts";
import type { Cell } from "./tables/index.ts";

/** Bins of the top-class probability in the baseline's calibration. */
export const CALIBRATION_BINS = 10;
/** Random chunks of the labelled rows the band of label-free estimates is measured over. */
export const BAND_CHUNKS = 10;

/** Labelled rows of one random chunk: predictions per class and confidence bin, and the confusion matrix. */
interface Chunk {
  confidence: number[];
  confusion: number[];
}

/**
 * The model's quality on the reference rows, as `driftline profile --target` runs it over them:
 * a confusion matrix, log loss, the calibration of the top-class probability and, for two
 * classes, the ROC AUC (which needs every row's score: they are kept in memory). For up to 64
 * classes also what label-free estimates need (protocol/performance-estimate.ts): how often each
 * class's predictions were right per confidence bin, and the spread of the estimate's error over
 * {@link BAND_CHUNKS} random chunks of the rows.
 */
export class BaselineCollector {
  private readonly confusion: number[];
  private readonly index: Map<string, number>;
  private logLoss = 0;
  private labelled = 0;
  private readonly scores: number[] = [];
  private readonly positives: boolean[] = [];
  private readonly confidence: { rows: number[]; right: number[]; lossTop: number[]; lossRest: number[]; chunks: Chunk[] } | undefined;
  private readonly random = seededRandom();
  /**
   * A regression's targets and predictions, kept until the end (8 bytes each a row): how devices
   * record a label depends on the step and range of all the targets.
   */
  private readonly targets: number[] = [];
  private readonly predictions: number[] = [];
  private recording_: { value: TargetRecording | undefined } | undefined;
  private readonly bins = { confidence: new Array<number>(CALIBRATION_BINS).fill(0), correct: new Array<number>(CALIBRATION_BINS).fill(0), count: new Array<number>(CALIBRATION_BINS).fill(0) };

  /**
   * @param target - the target column's name, for errors
   * @param labels - the classes of a classifier, or undefined for a regression
   */
  constructor(
    private readonly target: string,
    private readonly labels: readonly string[] | undefined,
  ) {
    const k = labels?.length ?? 0;
    this.confusion = new Array<number>(k * k).fill(0);
    this.index = new Map(labels?.map((l, i) => [l, i]));
    const zeros = (n: number) => new Array<number>(n).fill(0);
    if (k >= 2 && k <= MAX_LABELS) {
      const chunks = Array.from({ length: BAND_CHUNKS }, () => ({ confidence: zeros(k * CONFIDENCE_BINS), confusion: zeros(k * k) }));
      this.confidence = { rows: zeros(k * CONFIDENCE_BINS), right: zeros(k * CONFIDENCE_BINS), lossTop: zeros(k * CONFIDENCE_BINS), lossRest: zeros(k * CONFIDENCE_BINS), chunks };
    }
  }

  /**
   * Adds one row: the model's probabilities (or regression value) and the row's target.
   *
   * @param output - class probabilities, or one value
   * @param cell - the target cell: a class label (or its index), or a number
   * @param where - the row's place in the file, for errors
   */
  add(output: ArrayLike<number>, cell: Cell | undefined, where: () => string): void {
    if (cell === null || cell === undefined || cell === "") return;
    if (!this.labels) {
      const actual = typeof cell === "number" ? cell : Number(cell);
      if (!Number.isFinite(actual)) throw new CliError(`${where()}: target "${this.target}": ${JSON.stringify(cell)} is not a number`);
      this.targets.push(actual);
      this.predictions.push(output[0]!);
      this.labelled++;
      return;
    }
    const actual = this.classOf(cell, where);
    let predicted = 0;
    for (let c = 1; c < this.labels.length; c++) if (output[c]! > output[predicted]!) predicted = c;
    this.confusion[actual * this.labels.length + predicted]!++;
    this.logLoss += lossOf(output[actual]!);
    const top = output[predicted]!;
    const bin = Math.min(CALIBRATION_BINS - 1, Math.floor(top * CALIBRATION_BINS));
    this.bins.confidence[bin]! += top;
    this.bins.count[bin]!++;
    if (predicted === actual) this.bins.correct[bin]!++;
    this.addConfidence(actual, predicted, top);
    if (this.labels.length === 2) {
      this.scores.push(output[1]!);
      this.positives.push(actual === 1);
    }
    this.labelled++;
  }

  /**
   * How devices record a regression's labels: its targets' step and range, the output's `step`
   * and `targets` (./target-recording.ts). Undefined without a step (or without targets). Found
   * once, the first time it is read: read it when every row is in.
   */
  get recording(): TargetRecording | undefined {
    return (this.recording_ ??= { value: targetRecording(this.targets) }).value;
  }

  /**
   * MAE and RMSE of a regression, on labels as devices record them (`recording`), so that the
   * baseline and the live figures compare like with like: a label moves by half a step (a step at
   * the top of an odd range). Without a step, on the labels as they are.
   */
  private regressionResult(): BaselinePerformance {
    const r = this.recording;
    let absError = 0;
    let squaredError = 0;
    this.targets.forEach((target, i) => {
      const error = (r ? pairedLabel(target, r.step, r.targets) : target) - this.predictions[i]!;
      absError += Math.abs(error);
      squaredError += error * error;
    });
    return { kind: "regression", labelled: this.labelled, mae: absError / this.labelled, rmse: Math.sqrt(squaredError / this.labelled) };
  }

  /** Counts a labelled prediction for label-free estimates: in its confidence bin, and in one random chunk. */
  private addConfidence(actual: number, predicted: number, top: number): void {
    const c = this.confidence;
    if (!c || !Number.isFinite(top)) return;
    const k = this.labels!.length;
    const at = predicted * CONFIDENCE_BINS + confidenceBin(top);
    c.rows[at]!++;
    if (predicted === actual) c.right[at]!++;
    c.lossTop[at]! += lossOf(top);
    c.lossRest[at]! += lossOf(1 - top);
    const chunk = c.chunks[Math.floor(this.random() * BAND_CHUNKS)]!;
    chunk.confidence[at]!++;
    chunk.confusion[actual * k + predicted]!++;
  }

  /** What label-free estimates need, or undefined without scored predictions. */
  private estimation(): Estimation | undefined {
    const c = this.confidence;
    const labels = this.labels!;
    const k = labels.length;
    const fit = c && fitEstimation(k, c.rows, c.right, (a, p) => this.confusion[a * k + p]!, { top: c.lossTop, rest: c.lossRest });
    if (!c || !fit) return undefined;
    const band = bandSpread(
      labels,
      fit,
      c.chunks.map((chunk) => ({ confidence: chunk.confidence, confusion: (a: number, p: number) => chunk.confusion[a * k + p]! })),
    );
    return { ...fit, band };
  }

  /** The baseline, or undefined when no row had a target. */
  result(): BaselinePerformance | undefined {
    if (this.labelled === 0) return undefined;
    if (!this.labels) return this.regressionResult();
    const k = this.labels.length;
    const quality = classQuality(this.labels, (a, p) => this.confusion[a * k + p]!)!;
    const { count, confidence, correct } = this.bins;
    const auc = k === 2 ? rocAuc(this.scores, this.positives) : undefined;
    const estimation = this.estimation();
    return {
      kind: "classification",
      ...quality,
      ...(auc !== undefined && { roc_auc: auc }),
      log_loss: this.logLoss / this.labelled,
      calibration: {
        confidence: confidence.map((c, b) => (count[b]! > 0 ? c / count[b]! : null)),
        accuracy: correct.map((c, b) => (count[b]! > 0 ? c / count[b]! : null)),
        count,
      },
      ...(estimation && { estimation }),
    };
  }

  /** A target cell's class: its label, or its index when the labels are not in the data. */
  private classOf(cell: Cell, where: () => string): number {
    const text = String(cell);
    const byLabel = this.index.get(text);
    if (byLabel !== undefined) return byLabel;
    const byIndex = Number(text);
    if (Number.isInteger(byIndex) && byIndex >= 0 && byIndex < this.labels!.length) return byIndex;
    throw new CliError(`${where()}: target "${this.target}": ${JSON.stringify(cell)} is none of the model's classes (${this.labels!.join(", ")}) nor their index`);
  }
}

/**
 * The area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting half (the Mann–Whitney statistic; scikit-learn's `roc_auc_score`).
 * Undefined when one class is absent.
 *
 * @param scores - each row's score
 * @param positives - whether each row is positive
 */
export function rocAuc(scores: readonly number[], positives: readonly boolean[]): number | undefined {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveCount = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average rank of a run of ties
    for (let t = i; t <= j; t++) {
      if (positives[order[t]!]) {
        positiveCount++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negativeCount = order.length - positiveCount;
  if (positiveCount === 0 || negativeCount === 0) return undefined;
  return (rankSum - (positiveCount * (positiveCount + 1)) / 2) / (positiveCount * negativeCount);
}
