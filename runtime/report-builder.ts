import { blurValue, narrowestCell, pairedLabel } from "../protocol/blur.ts";
import { NumericSketch } from "../protocol/sketch/numeric.ts";
import { isFloat32Finite } from "../protocol/sketch/codec.ts";
import { CategoricalSketch } from "../protocol/sketch/categorical.ts";
import { ClassificationSketch } from "../protocol/sketch/prediction.ts";
import { LatencySketch } from "../protocol/sketch/latency.ts";
import { ErrorCounts } from "../protocol/sketch/error-counts.ts";
import { ConfusionMatrix } from "../protocol/sketch/confusion.ts";
import { MAX_REPORT_ROWS } from "../protocol/limits.ts";
import { type Probabilities, classLabels, entropyAt } from "./outputs.ts";
import type { EmbeddingSketch } from "../protocol/sketch/embedding.ts";
import type { FeatureSketch, PredictionSketch } from "../protocol/sketch/kinds.ts";
import type { Draft } from "./draft.ts";
import type { EmbeddingProjection, Manifest, Report } from "./types.ts";

/** One predict() (or run()) call waiting to be sketched: see `Encoded` in tensors.ts. */
export interface Staged {
  acc: Accumulator;
  /** Rows. */
  n: number;
  /** From `base` on: `width` feature columns (none for `run()`), then class and score columns. */
  staged: Float64Array;
  /** Where {@link Staging.add} copied the rows' probabilities, whose entropy is sketched here: `perRow` values a row from `at` on. */
  probs?: Probabilities | undefined;
  base: number;
  width: number;
  misses: unknown[] | undefined;
  backend: string;
  /** Latency of the session run. */
  ms: number;
}

/** Staged values beyond which calls are sketched at once rather than in idle time (1 MB). */
const CAP = 1 << 17;

/**
 * Calls waiting to be sketched in idle time, their values in one reused buffer: a call takes a
 * region before it builds its tensors and stages it once it has its outputs. Too much waiting
 * is sketched at once, so memory stays bounded.
 */
export class Staging {
  /** The buffer regions are taken from. */
  values = new Float64Array(1024);
  private used_ = 0;
  /** Regions taken but neither staged nor dropped (calls in flight). */
  private open_ = 0;
  /** Staged calls; the first one schedules a fold (a stale extra fold is harmless). */
  private batches_: Staged[] = [];

  /**
   * @param idle_ - runs a function when the thread is idle
   * @param rate_ - the sample rate now
   */
  constructor(
    private readonly idle_: (fn: () => void) => void,
    private readonly rate_: () => number,
  ) {}

  /**
   * Takes a region of `len` values of {@link values} (read it after this call).
   *
   * @param len - values needed
   * @returns where the region starts
   */
  take(len: number): number {
    // opened once it has its region: a fold to make room for it may start the buffer over
    const at = this.region_(len);
    this.open_++;
    return at;
  }

  /** Where `len` more values of {@link values} start. */
  private region_(len: number): number {
    const v = this.values;
    if (this.used_ + len > v.length) {
      if (v.length >= CAP) this.fold();
      // regions in flight keep the old buffer alive; it is dropped once they are sketched
      if (this.used_ + len > v.length) (this.values = new Float64Array(Math.max(len, Math.min(CAP, 2 * v.length)))), (this.used_ = 0);
    }
    return (this.used_ += len) - len;
  }

  /** Gives a region up: its call failed. */
  drop(): void {
    this.open_--;
  }

  /**
   * Stages a call's region for idle time.
   *
   * @param b - the call
   * @param probs - its rows' probabilities, copied into a region of their own: the app holds
   *   the outputs, and may change them before idle time
   */
  add(b: Staged, probs?: Float32Array): void {
    if (probs) {
      // while the call's own region is still open: a fold to make room leaves it alone
      const at = this.region_(probs.length);
      this.values.set(probs, at);
      b.probs = { values: this.values, at, perRow: probs.length / b.n };
    }
    this.open_--;
    if (this.batches_.push(b) < 2) this.idle_(() => this.fold());
  }

  /** Sketches everything staged (idle time, or before a report is cut). */
  fold(): void {
    for (const b of this.batches_.splice(0)) b.acc.fold(b, this.rate_());
    if (!this.open_) this.used_ = 0;
  }
}

/** The sketches one model version accumulates between two reports. */
export class Accumulator {
  rows = 0;
  start: number;
  /** One sketch per manifest feature, in manifest order, then one per derived feature. */
  readonly features: FeatureSketch[];
  /** The rows' embeddings, projected (when the manifest names an embedding output). */
  embedding?: EmbeddingSketch;
  readonly prediction: PredictionSketch;
  /** Adds one row's class, score and entropy to `prediction`. */
  readonly add: (cls: number, score: number, entropy: number) => void;
  readonly latency = new LatencySketch();
  readonly errors = new ErrorCounts();
  readonly labels: string[] | undefined;
  confusion?: ConfusionMatrix;
  residual?: NumericSketch;
  private dirty_ = false;
  /** Errors {@link error} was called with since the last cut, counted or not. */
  private errs_ = 0;
  /** Per manifest feature, the narrowest cell its values are blurred to (protocol/blur.ts). */
  private readonly minCells: number[];
  /** The output whose `step` (and `targets`) say how a regression's labels are recorded (protocol/blur.ts `pairedLabel`). */
  private readonly labelled: Manifest["outputs"][number] | undefined;

  /**
   * @param manifest - the version's manifest
   * @param now - start of the period, epoch ms
   * @param shareUnseen - send unseen category values as text (else only their count)
   * @param derived - the names of the features derived from tensors: descriptors, then tensor statistics
   */
  constructor(
    readonly manifest: Manifest,
    now: number,
    private readonly shareUnseen = false,
    private readonly derived: readonly string[] = [],
  ) {
    this.start = now;
    this.features = manifest.features.map((f) => (f.kind === "numeric" ? new NumericSketch({ range: f.range }) : new CategoricalSketch(f.categories ?? [])));
    this.minCells = manifest.features.map((f) => narrowestCell(f.step));
    for (const _ of derived) this.features.push(new NumericSketch());
    // the prediction sketch (classes, or a value), and how one row's class (-1: none), score
    // and entropy (NaN: none) are added to it
    const labels = (this.labels = classLabels(manifest));
    if (labels) {
      const p = (this.prediction = new ClassificationSketch(labels));
      this.add = (cls, score, entropy) => cls >= 0 && cls < labels.length && p.update(cls, score, entropy);
    } else {
      const p = (this.prediction = new NumericSketch());
      // outputs that give no value (classes without labels, an embedding): each row's prediction is missing
      const scored = manifest.outputs.some((o) => o.kind !== "label" && o.kind !== "embedding");
      this.add = (_, score) => p.update(scored ? score : undefined);
    }
    this.labelled = manifest.outputs.find((o) => o.step);
  }

  /**
   * Sketches one staged call: its features column by column (as the app sent them, numbers
   * blurred by {@link blurValue}), then what the model answered, and its latency.
   *
   * @param b - the staged call
   * @param rate - sample rate: the fraction of rows sketched
   */
  fold(b: Staged, rate: number): void {
    const { n, staged, base, width, misses } = b;
    const keep = rate < 1 ? Array.from({ length: n }, () => Math.random() < rate) : undefined;
    this.dirty_ = true;
    this.latency.update(b.backend, b.ms);
    for (let f = 0, m = 0; f < width; f++) {
      const s = this.features[f]!;
      const cats = s instanceof CategoricalSketch ? s.categories : undefined;
      const cell = this.minCells[f];
      for (let r = 0, i = base + f * n; r < n; r++, i++) {
        let v: unknown;
        if (misses?.[m] === f && misses[m + 1] === r) {
          v = misses[m + 2];
          m += 3;
          if (!cats && typeof v !== "number" && v != null) v = NaN;
        } else v = cats ? cats[staged[i]!] : staged[i];
        if (!keep || keep[r]) cats ? (s as CategoricalSketch).update(v) : (s as NumericSketch).update(v as number, typeof v === "number" ? blurValue(v, cell) : undefined);
      }
    }
    for (let r = 0, i = base + width * n; r < n; r++, i++) if (!keep || keep[r]) this.add(staged[i]!, staged[i + n]!, entropyAt(b.probs, r));
  }

  /**
   * Sketches one `run()` call's tensor statistics (the last features), blurred as every number
   * is; with `rate` below 1 only that fraction of calls.
   *
   * @param values - the statistics, in feature order
   * @param rate - sample rate
   */
  describe(values: readonly number[], rate: number): void {
    if (rate < 1 && Math.random() >= rate) return;
    this.dirty_ = true;
    let f = this.features.length - values.length;
    for (const v of values) (this.features[f++] as NumericSketch).update(v, blurValue(v));
  }

  /**
   * Adds `n` embeddings, projected, to {@link embedding}.
   *
   * @param projector - the manifest's projection
   * @param data - `n` embeddings of the manifest's `length` values, one after the other
   * @param n - embeddings
   * @returns false (and a `validation` error counted) when `data` is not `n` embeddings of numbers within float32's range
   */
  embed(projector: EmbeddingProjection, data: ArrayLike<number> | undefined, n: number): boolean {
    const { length } = projector.config;
    const vectors = data && data.length === n * length ? Array.from({ length: n }, (_, r) => Array.prototype.slice.call(data, r * length, (r + 1) * length) as number[]) : [];
    // spread: `every` passes over the holes of a sparse array (new Array(8)), which would sketch as
    // NaN; past float32's range the projection's squares overflow: a sketch its decoder refuses
    if (!vectors.length || !vectors.every((v) => [...v].every(isFloat32Finite))) return (this.error("validation"), false);
    const s = (this.embedding ??= projector.sketch());
    this.dirty_ = true;
    for (const v of vectors) projector.add(s, v);
    return true;
  }

  /**
   * Counts one error, up to `LIMITS.reportRows` a report: the collector refuses a report of more
   * (and its rows with it), so the rest go uncounted (a sparse model's rows that leave hundreds of
   * features to their impute value make as many violations each).
   *
   * @param code - its code
   */
  error(code: string): void {
    this.dirty_ = true;
    if (this.errs_++ < MAX_REPORT_ROWS) this.errors.update(code);
  }

  /**
   * Joins a label with a prediction: a confusion-matrix cell, or a residual (label − value) of
   * the label as recorded (one of two values the targets can take, when the output says their
   * step), blurred: a residual does not give the label back.
   *
   * @param actual - the true class index, or the true value (regression)
   * @param predicted - the predicted class index, or the predicted value
   */
  label(actual: number, predicted: number): void {
    this.dirty_ = true;
    if (this.labels) (this.confusion ??= new ConfusionMatrix(this.labels)).update(actual, predicted);
    else {
      const o = this.labelled;
      this.addResidual((o ? pairedLabel(actual, o.step!, o.targets) : actual) - predicted);
    }
  }

  /**
   * Adds a residual, blurred: a label's, or a shadow's score less the live version's.
   *
   * @param r - the residual
   */
  addResidual(r: number): void {
    this.dirty_ = true;
    (this.residual ??= new NumericSketch()).update(r, blurValue(r));
  }

  /**
   * The report (a draft: sketches as objects) of everything since the last cut (undefined
   * when nothing happened); resets, and the next report starts at `now` either way.
   *
   * @param head - id, model, version, role, client, segment and sample rate
   * @param now - end of the period, epoch ms
   */
  cut(head: Pick<Report, "id" | "model" | "version" | "role" | "client" | "segment" | "sampleRate">, now: number): Draft | undefined {
    if (!this.dirty_ && !this.rows) {
      // nothing since the last cut: the next report starts now, so it is filed (by its start)
      // in the window its rows belong to, not in one that ended before they came
      this.start = now;
      return undefined;
    }
    // unseen category values stay on the device unless the app opts in: only their count goes
    if (!this.shareUnseen) for (const s of this.features) if (s instanceof CategoricalSketch) s.heavy.clear();
    const report: Draft = {
      ...head,
      start: this.start,
      end: Math.max(now, this.start),
      rows: this.rows,
      features: Object.fromEntries(this.features.map((s, i) => [this.manifest.features[i]?.name ?? this.derived[i - this.manifest.features.length]!, s])),
      ...(this.embedding && { embedding: this.embedding }),
      prediction: this.prediction,
      ...(this.latency.backends.size && { latency: this.latency }),
      ...(this.errors.counts.size && { errors: this.errors }),
      ...(this.confusion && { confusion: this.confusion }),
      ...(this.residual && { residual: this.residual }),
    };
    Object.assign(this, new Accumulator(this.manifest, now, this.shareUnseen, this.derived), { embedding: undefined });
    return report;
  }
}
