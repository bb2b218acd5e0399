import { NumericSketch } from "../protocol/sketch/numeric.ts";
import { CategoricalSketch } from "../protocol/sketch/categorical.ts";
import { ClassificationSketch } from "../protocol/sketch/prediction.ts";
import { LatencySketch } from "../protocol/sketch/latency.ts";
import { ErrorCounts } from "../protocol/sketch/error-counts.ts";
import { ConfusionMatrix } from "../protocol/sketch/confusion.ts";
import { TAG, fromBase64, toBase64 } from "../protocol/sketch/codec.ts";
import { classLabels, type Decoded } from "./outputs.ts";
import type { Manifest, Report, Row } from "./types.ts";

type Sketch = { encode(): Uint8Array; merge(other: never): unknown };
const DECODERS: Record<number, { decode(b: Uint8Array): Sketch }> = {
  [TAG.numeric]: NumericSketch,
  [TAG.categorical]: CategoricalSketch,
  [TAG.classification]: ClassificationSketch,
  [TAG.latency]: LatencySketch,
  [TAG.errors]: ErrorCounts,
  [TAG.confusion]: ConfusionMatrix,
};

const enc = (s: Sketch) => toBase64(s.encode());
const dec = (b64: string) => {
  const bytes = fromBase64(b64);
  return DECODERS[bytes[0]!]!.decode(bytes);
};

/** Fields of a report (or its `shadow` part) that hold one sketch each. */
const SKETCH_FIELDS = ["prediction", "latency", "errors", "confusion", "residual", "delta"] as const;
type SketchHolder = Partial<Record<(typeof SKETCH_FIELDS)[number], string>>;

function mergeFields(into: SketchHolder & Record<string, unknown>, from: SketchHolder & Record<string, unknown>, keys: readonly string[]) {
  for (const k of keys) {
    const a = into[k] as string | undefined;
    const b = from[k] as string | undefined;
    if (b) into[k] = a ? enc((dec(a) as Sketch).merge(dec(b) as never) as Sketch) : b;
  }
}

/**
 * Folds report `b` into report `a` (same model, version, role, client, segment and sample
 * rate): rows add, the period widens, every sketch merges. `a` keeps its id.
 *
 * @param a - the report kept
 * @param b - the report folded in
 * @returns a
 */
export function mergeReports(a: Report, b: Report): Report {
  a.rows += b.rows;
  a.start = Math.min(a.start, b.start);
  a.end = Math.max(a.end, b.end);
  mergeFields(a, b, SKETCH_FIELDS);
  mergeFields(a.features, b.features, Object.keys(b.features));
  if (b.shadow) {
    if (!a.shadow) a.shadow = b.shadow;
    else {
      a.shadow.rows += b.shadow.rows;
      a.shadow.agree = (a.shadow.agree ?? 0) + (b.shadow.agree ?? 0);
      mergeFields(a.shadow, b.shadow, SKETCH_FIELDS);
    }
  }
  return a;
}

/** The sketches one model version accumulates between two reports. */
export class Accumulator {
  rows = 0;
  start: number;
  readonly features: Array<[string, NumericSketch | CategoricalSketch]>;
  readonly prediction: ClassificationSketch | NumericSketch;
  readonly latency = new LatencySketch();
  readonly errors = new ErrorCounts();
  readonly labels: string[] | undefined;
  confusion?: ConfusionMatrix;
  residual?: NumericSketch;
  private dirty = false;

  /**
   * @param manifest - the version's manifest
   * @param now - start of the period, epoch ms
   */
  constructor(readonly manifest: Manifest, now: number) {
    this.start = now;
    this.features = manifest.features.map((f) => [
      f.name,
      f.kind === "numeric" ? new NumericSketch({ range: f.range }) : new CategoricalSketch(f.categories ?? []),
    ]);
    this.labels = classLabels(manifest);
    this.prediction = this.labels ? new ClassificationSketch(this.labels) : new NumericSketch();
  }

  /**
   * Sketches one row as the app sent it and what the model answered.
   *
   * @param row - the raw row (undefined for raw feeds)
   * @param out - its decoded outputs
   */
  sample(row: Row | undefined, out: Decoded): void {
    this.dirty = true;
    if (row) {
      for (const [name, s] of this.features) {
        const v = row[name];
        if (s instanceof NumericSketch) s.update(typeof v === "number" || v == null ? v : NaN);
        else s.update(v);
      }
    }
    if (this.prediction instanceof ClassificationSketch) {
      if (out.cls! >= 0 && out.cls! < this.labels!.length) this.prediction.update(out.cls!, out.score);
    } else this.prediction.update(out.score);
  }

  /**
   * Counts one error.
   *
   * @param code - its code
   */
  error(code: string): void {
    this.dirty = true;
    this.errors.update(code);
  }

  /**
   * Joins a label with a prediction: a confusion-matrix cell, or a residual (label − value).
   *
   * @param actual - the true class index, or the true value (regression)
   * @param predicted - the predicted class index, or the predicted value
   */
  label(actual: number, predicted: number): void {
    this.dirty = true;
    if (this.labels) (this.confusion ??= new ConfusionMatrix(this.labels)).update(actual, predicted);
    else (this.residual ??= new NumericSketch()).update(actual - predicted);
  }

  /**
   * The report of everything since the last cut (undefined when nothing happened); resets.
   *
   * @param head - id, model, version, role, client, segment and sample rate
   * @param now - end of the period, epoch ms
   */
  cut(head: Pick<Report, "id" | "model" | "version" | "role" | "client" | "segment" | "sampleRate">, now: number): Report | undefined {
    if (!this.dirty && !this.rows) return undefined;
    const hasLatency = this.latency.backends.size > 0;
    const report: Report & SketchHolder = {
      ...head,
      start: this.start,
      end: Math.max(now, this.start),
      rows: this.rows,
      features: Object.fromEntries(this.features.map(([name, s]) => [name, enc(s)])),
      prediction: enc(this.prediction),
      ...(hasLatency && { latency: enc(this.latency) }),
      ...(this.errors.counts.size && { errors: enc(this.errors) }),
      ...(this.confusion && { confusion: enc(this.confusion) }),
      ...(this.residual && { residual: enc(this.residual) }),
    };
    Object.assign(this, new Accumulator(this.manifest, now));
    return report;
  }
}

export { enc as encodeSketch };
