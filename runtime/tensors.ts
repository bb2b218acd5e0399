import { DriftlineError } from "../protocol/errors.ts";
import { OUTPUT_COLUMNS } from "./outputs.ts";
import type { Check, Column, Plan } from "./validate.ts";
import type { Columns, Feeds, Manifest, Row, Tensor } from "./types.ts";
import type { Ort } from "./ort-loader.ts";

const ARRAYS: Record<string, new (n: number) => Column> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  string: Array,
};

/** Named rows as tensors, and a copy of the values for the sketches. */
export interface Encoded {
  feeds: Record<string, Tensor>;
  /** The tensors' buffers: hand them back with {@link reuse} once the run is over. */
  data: Column[];
  /**
   * From `base` on, `(width + 3) × n` values, column-major: each feature's value as sent
   * (numbers) or its category index, each descriptor of a media input, then the columns the
   * outputs fill (class, score: runtime/outputs.ts).
   */
  staged: Float64Array;
  base: number;
  /** Values that missed the fast path as flat `[feature, row, raw value]` triples, in order. */
  misses: unknown[] | undefined;
}

/**
 * A feed as onnxruntime-web takes it: an ORT tensor as it is, `{ type, data, dims }` made one.
 *
 * @param ort - onnxruntime-web
 * @param t - the feed
 */
export const asTensor = (ort: Ort, t: Feeds[string]): Tensor => (t instanceof ort.Tensor ? t : new ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims));

const zero = (d: Column) => d.fill((d instanceof BigInt64Array ? 0n : Array.isArray(d) ? "" : 0) as never);

/** Zero-filled buffers of `n` rows for every input: the last run's when they fit. */
function alloc(manifest: Manifest, plan: Plan, n: number): Column[] {
  const spare = plan.spare;
  plan.spare = undefined;
  // ORT may have detached them (length 0)
  if (spare?.every((d, k) => d.length === plan.sizes[k]! * n)) return spare.map(zero);
  return manifest.inputs.map(({ name, dtype }, k) => {
    const Ctor = ARRAYS[dtype];
    if (!Ctor) throw new DriftlineError("unsupported", `${name}: ${dtype}`);
    return zero(new Ctor(plan.sizes[k]! * n));
  });
}

/**
 * Hands a finished run's input buffers back for the next call: allocating them is most of
 * what building a small batch costs.
 *
 * @param plan - the model's plan
 * @param enc - the call's feeds, whose run is over
 */
export const reuse = (plan: Plan, enc: Encoded) => void (plan.spare = enc.data);

/** The buffers as tensors, by input name. */
function tensors(ort: Ort, manifest: Manifest, plan: Plan, data: Column[], n: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  manifest.inputs.forEach(({ name, dtype }, k) => (feeds[name] = new ort.Tensor(dtype as "float32", data[k] as Float32Array, [n, ...plan.dims[k]!])));
  return feeds;
}

/**
 * Rows in a batch of named rows or of columns: the longest column of a feature the manifest
 * names (a shorter one reads as missing values).
 *
 * @param plan - the model's plan
 * @param input - named rows, or one array per feature
 */
export const rowCount = (plan: Plan, input: Row[] | Columns): number => (Array.isArray(input) ? input.length : plan.checks.reduce((n, c) => Math.max(n, input[c.name]?.length ?? 0), 0));

/** One call's values on their way through {@link buildFeeds}, one feature at a time. */
interface Pass {
  rows: Row[] | undefined;
  /** The feature's values when the input is columns. */
  column: ArrayLike<unknown> | undefined;
  n: number;
  staged: Float64Array;
  /** The feature's first value in `staged`. */
  from: number;
  misses: unknown[] | undefined;
  onViolation: () => void;
}

/** What row `r`'s value `v` of feature `f` becomes off the fast path (`c.fix`), recorded as a miss. */
function miss(c: Check, f: number, r: number, v: unknown, p: Pass): number {
  (p.misses ??= []).push(f, r, v);
  return c.fix(v, p.onViolation);
}

/**
 * Stages feature `f`'s values: a finite number in range, or a known category's index, at once;
 * anything else through {@link miss}. One loop per kind: a branch per value costs more.
 */
function stage(c: Check, f: number, p: Pass): void {
  const { name, index, lo, hi } = c;
  const { rows, column, n, staged, from } = p;
  // a row that is no object (null) has no values: each feature's policy decides
  if (index)
    for (let r = 0; r < n; r++) {
      const v = column ? column[r] : rows![r]?.[name];
      const x = typeof v === "string" ? (index.get(v) ?? -1) : -1;
      staged[from + r] = x >= 0 ? x : miss(c, f, r, v, p);
    }
  else
    for (let r = 0; r < n; r++) {
      const v = column ? column[r] : rows![r]?.[name];
      staged[from + r] = typeof v === "number" && v >= lo && v <= hi ? v : miss(c, f, r, v, p);
    }
}

/** Writes a feature's staged values into its columns of `d`, as its input's type and its encoding say. */
function writeColumns(c: Check, d: Column, stride: number, p: Pass): void {
  const { n, staged, from } = p;
  const big = d instanceof BigInt64Array;
  const plain = !big && !c.text && c.width < 2;
  for (let r = 0, at = c.col; r < n; r++, at += stride) {
    const x = staged[from + r]!;
    // -1 (no category) is all zeros one-hot, and "" as text
    if (plain) d[at] = x;
    else if (c.text) d[at] = c.categories[x] ?? "";
    else if (c.width > 1) x >= 0 && (d[at + x] = big ? 1n : 1);
    else d[at] = BigInt(Math.trunc(x) || 0);
  }
}

/**
 * Builds the feeds of a tabular model from named rows (or from columns), validating as it
 * writes: per feature, a tight loop over the rows stages each value (a finite in-range number,
 * or a known category's index, at once; anything else through the feature's slow path: policies,
 * violations), then another writes the staged values into the feature's tensor columns.
 *
 * @param ort - onnxruntime-web
 * @param manifest - the model manifest
 * @param plan - its compiled features
 * @param input - named rows, or one array of values per feature name ({@link Columns})
 * @param onViolation - called once per violation
 * @param staged - where to copy the values for the sketches (default: a new array)
 * @param base - from where in `staged`
 */
export function buildFeeds(ort: Ort, manifest: Manifest, plan: Plan, input: Row[] | Columns, onViolation: () => void, staged?: Float64Array, base = 0): Encoded {
  const rows = Array.isArray(input) ? input : undefined;
  const n = rowCount(plan, input);
  const { checks } = plan;
  const data = alloc(manifest, plan, n);
  staged ??= new Float64Array((plan.width + OUTPUT_COLUMNS) * n);
  const p: Pass = { rows, column: undefined, n, staged, from: 0, misses: undefined, onViolation };
  for (let f = 0; f < checks.length; f++) {
    const c = checks[f]!;
    const d = data[c.input]!;
    p.column = rows ? undefined : ((input as Columns)[c.name] ?? []);
    p.from = base + f * n;
    stage(c, f, p);
    writeColumns(c, d, d.length / n, p);
  }
  return { feeds: tensors(ort, manifest, plan, data, n), data, staged, base, misses: p.misses };
}

/**
 * Zero feeds of one row for every input: for warm-up runs.
 *
 * @param ort - onnxruntime-web
 * @param manifest - the model manifest
 * @param plan - its compiled features
 */
export const zeroFeeds = (ort: Ort, manifest: Manifest, plan: Plan): Record<string, Tensor> => tensors(ort, manifest, plan, alloc(manifest, plan, 1), 1);
