import { normalisedEntropy } from "../protocol/sketch/prediction.ts";
import type { Manifest, Prediction, Tensor } from "./types.ts";

/** Values staged per row of a call's outputs, column by column: class, score. */
export const OUTPUT_COLUMNS = 2;

/**
 * The data of a manifest's first `probabilities` output in a run's outputs, if it has one: its
 * entropy is sketched in idle time, off the call's path (runtime/report-builder.ts `Staging.add`).
 *
 * @param manifest - the model manifest
 * @param result - the session's outputs
 */
export const probabilitiesOf = (manifest: Manifest, result: Record<string, Tensor>): Float32Array | undefined =>
  result[manifest.outputs.find((o) => o.kind === "probabilities")?.name ?? ""]?.data as Float32Array | undefined;

/** Rows of probabilities in a buffer: `perRow` values a row, row 0 from `at` on. */
export interface Probabilities {
  values: ArrayLike<number>;
  at: number;
  perRow: number;
}

/**
 * The normalised entropy of row `r` of `p` (NaN without probabilities).
 *
 * @param p - the rows' probabilities
 * @param r - the row
 */
export const entropyAt = (p: Probabilities | undefined, r: number): number => (p ? normalisedEntropy(p.values, p.at + r * p.perRow, p.perRow) : NaN);

/** The class labels of a manifest's classifier output, if it has one. */
export const classLabels = (manifest: Manifest): string[] | undefined => manifest.outputs.find((o) => o.labels && (o.kind === "probabilities" || o.kind === "label"))?.labels;

/** One call's outputs, shared by its rows' predictions. */
interface Batch {
  manifest: Manifest;
  result: Record<string, Tensor>;
  n: number;
  /** Each row's views, once made: kept here, not on the row, which an app may freeze. */
  v: Array<Record<string, ArrayLike<unknown>>>;
}

/**
 * Where a row keeps its call's outputs and its index: symbol keys, which JSON and
 * `postMessage` leave out and which a Proxy (Vue's `reactive`, MobX) reads through, as it does not
 * private `#` fields (reading `outputs` through one threw a TypeError).
 */
const BATCH = Symbol();
const ROW = Symbol();

/**
 * One row of a `predict()` call: `outputs` is made when first read (a typed-array view of each
 * output per row cost ~100 ns a row, most of what a batch took beyond `session.run`), from the
 * call's tensors.
 */
class RowPrediction implements Prediction {
  id = "";
  label: string | undefined;
  score: number | undefined;
  readonly version: string;
  readonly [BATCH]: Batch;
  readonly [ROW]: number;

  constructor(batch: Batch, r: number, version: string) {
    this.version = version;
    this[BATCH] = batch;
    this[ROW] = r;
  }

  /** This row's slice (a view) of each of the manifest's outputs. */
  get outputs(): Record<string, ArrayLike<unknown>> {
    const { manifest, result, n, v } = this[BATCH];
    if (v[this[ROW]]) return v[this[ROW]]!;
    const outputs: Record<string, ArrayLike<unknown>> = {};
    for (const { name } of manifest.outputs) {
      const data = result[name]?.data as (Float32Array & unknown[]) | undefined;
      if (!data) continue;
      const w = data.length / n;
      const i = this[ROW] * w;
      // views by constructor: `subarray` is twice as slow once the engine's species protector is gone
      const View = data.constructor as Float32ArrayConstructor;
      const bytes = data.BYTES_PER_ELEMENT;
      outputs[name] = bytes ? new View(data.buffer, data.byteOffset + i * bytes, w) : data.slice(i, i + w);
    }
    return (v[this[ROW]] = outputs);
  }
}

/**
 * Splits output tensors into per-row predictions (`id` left empty, `outputs` made when read; none
 * when `named` is false)
 * and reads label, class and score as the manifest says: `probabilities` → argmax and its score, `label` → class (whole index or
 * text), `score` and `regression` → the value, `embedding` → neither (its vector is only in `outputs`). Each row's class (-1: none) goes to
 * `staged[at + r]`, its score (NaN: none) to `staged[at + n + r]`.
 *
 * @param manifest - the model manifest
 * @param result - the session's outputs
 * @param n - rows in the batch
 * @param staged - receives classes and scores
 * @param at - where in `staged`
 * @param version - the version that answered
 * @param named - whether to build the per-row predictions
 */
export function decodeOutputs(manifest: Manifest, result: Record<string, Tensor>, n: number, staged: Float64Array, at: number, version: string, named = true): Prediction[] {
  const preds: Prediction[] = [];
  const batch = { manifest, result, n, v: [] };
  for (let r = 0; r < n; r++) {
    if (named) preds.push(new RowPrediction(batch, r, version));
    staged[at + r] = -1;
    staged[at + n + r] = NaN;
  }
  for (const { name, kind, labels } of manifest.outputs) {
    const t = result[name];
    if (!t) continue;
    const data = t.data as Float32Array & unknown[];
    const w = data.length / n;
    for (let r = 0, i = 0; r < n; r++, i += w) {
      const p = preds[r];
      let cls = staged[at + r]!;
      if (kind === "probabilities") {
        let best = 0;
        for (let j = 1; j < w; j++) if (data[i + j]! > data[i + best]!) best = j;
        staged[at + n + r] = data[i + best]!;
        if (cls < 0) cls = best;
      } else if (kind === "label") {
        const v = data[i];
        cls = typeof v === "string" ? (labels?.indexOf(v) ?? -1) : Number(v);
        // an index that is no whole number names no class (sketching it would throw)
        if (cls % 1) cls = -1;
        if (p && typeof v === "string") p.label = v;
      } else if (kind !== "embedding" && staged[at + n + r] !== staged[at + n + r]) staged[at + n + r] = Number(data[i]);
      staged[at + r] = cls;
      if (p) {
        const score = staged[at + n + r]!;
        if (score === score) p.score = score;
        if (labels && cls >= 0) p.label ??= labels[cls];
      }
    }
  }
  return preds;
}
