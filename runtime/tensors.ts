import { DriftlineError } from "../protocol/errors.ts";
import { OUTPUT_COLUMNS } from "./outputs.ts";
import type { Column, Plan } from "./validate.ts";
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

/**
 * Builds the feeds of a tabular model from named rows (or from columns), validating as it
 * writes: per feature, a tight loop over the rows in which a finite in-range number (or a known
 * category text) is written at once; anything else takes the feature's slow path (policies,
 * violations).
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
  let misses: unknown[] | undefined;
  for (let f = 0; f < checks.length; f++) {
    const c = checks[f]!;
    const { name, index, lo, hi, width, text } = c;
    const d = data[c.input]!;
    const stride = d.length / n;
    const big = d instanceof BigInt64Array;
    const plain = !big && !text && width < 2;
    const column = rows ? undefined : ((input as Columns)[name] ?? []);
    for (let r = 0, at = c.col, s = base + f * n; r < n; r++, at += stride, s++) {
      // a row that is no object (null) has no values: each feature's policy decides
      const v = column ? column[r] : rows![r]?.[name];
      let x: number | undefined = index ? (typeof v === "string" ? index.get(v) : undefined) : typeof v === "number" && v >= lo && v <= hi ? v : undefined;
      if (x === undefined) {
        (misses ??= []).push(f, r, v);
        x = c.fix(v, onViolation);
      }
      staged[s] = x;
      if (plain) d[at] = x;
      else if (text) d[at] = c.categories[x] ?? "";
      else if (width > 1) x >= 0 && (d[at + x] = big ? 1n : 1);
      else d[at] = big ? BigInt(Math.trunc(x) || 0) : x;
    }
  }
  return { feeds: tensors(ort, manifest, plan, data, n), data, staged, base, misses };
}

/**
 * Zero feeds of one row for every input: for warm-up runs.
 *
 * @param ort - onnxruntime-web
 * @param manifest - the model manifest
 * @param plan - its compiled features
 */
export const zeroFeeds = (ort: Ort, manifest: Manifest, plan: Plan): Record<string, Tensor> => tensors(ort, manifest, plan, alloc(manifest, plan, 1), 1);
