import { DriftlineError } from "../protocol/errors.ts";
import type { Check } from "./validate.ts";
import type { Manifest, Row, Tensor } from "./types.ts";
import type { Ort } from "./ort-loader.ts";

type Input = Manifest["inputs"][number];
type Column = { [i: number]: unknown; length: number; fill(v: never): unknown };

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

/** A tensor-shaped buffer for `rows` rows of `input`, zero-filled, and its dims. */
function alloc(input: Input, rows: number, columns: number): { data: Column; dims: number[] } {
  const Ctor = ARRAYS[input.dtype];
  if (!Ctor) throw new DriftlineError("unsupported", `input "${input.name}": dtype ${input.dtype}`);
  const dims = input.shape.map((d, i) => (i === 0 ? rows : typeof d === "number" && d > 0 ? d : columns));
  const data = new Ctor(dims.reduce((a, b) => a * b, 1));
  if (input.dtype === "string") data.fill("" as never);
  return { data, dims };
}

const layouts = new WeakMap<Check[], Map<string, number>>();
/** Columns per input, computed once per model version. */
const widths = (manifest: Manifest, checks: Check[]) => {
  let w = layouts.get(checks);
  if (!w) {
    layouts.set(checks, (w = new Map()));
    for (const c of checks) w.set(c.feature.input, Math.max(w.get(c.feature.input) ?? 1, c.col + c.width));
  }
  return w;
};

/**
 * Builds the feeds of a tabular model from named rows: each feature's cleaned value goes to
 * its column (one-hot: a 1 in its category's column).
 *
 * @param ort - onnxruntime-web
 * @param manifest - the model manifest
 * @param checks - its compiled features
 * @param rows - the rows
 * @param onViolation - called once per violation
 */
export function buildFeeds(ort: Ort, manifest: Manifest, checks: Check[], rows: Row[], onViolation: () => void): Record<string, Tensor> {
  const n = rows.length;
  const w = widths(manifest, checks);
  const buffers = new Map(manifest.inputs.map((i) => [i.name, { input: i, ...alloc(i, n, w.get(i.name) ?? 1) }]));
  for (const c of checks) {
    const { input, data, dims } = buffers.get(c.feature.input)!;
    const stride = dims.length > 1 ? dims[dims.length - 1]! : 1;
    const big = input.dtype === "int64";
    for (let r = 0; r < n; r++) {
      const v = c.clean(rows[r]![c.feature.name], onViolation);
      const at = r * stride + c.col;
      if (c.width > 1) {
        if ((v as number) >= 0) data[at + (v as number)] = big ? 1n : 1;
      } else data[at] = big ? BigInt(Math.trunc((v as number) || 0)) : v;
    }
  }
  return Object.fromEntries([...buffers].map(([name, b]) => [name, new ort.Tensor(b.input.dtype as "float32", b.data as Float32Array, b.dims)]));
}

/**
 * Zero feeds of one row for every input (dynamic dimensions as 1): for warm-up runs.
 *
 * @param ort - onnxruntime-web
 * @param manifest - the model manifest
 * @param checks - its compiled features
 */
export function zeroFeeds(ort: Ort, manifest: Manifest, checks: Check[]): Record<string, Tensor> {
  const w = widths(manifest, checks);
  return Object.fromEntries(
    manifest.inputs.map((i) => {
      const { data, dims } = alloc(i, 1, w.get(i.name) ?? 1);
      return [i.name, new ort.Tensor(i.dtype as "float32", data as Float32Array, dims)];
    }),
  );
}
