import { type ValueOf, featureValue } from "../protocol/row-encoding.ts";
import { imageDims } from "../protocol/preprocess/image.ts";
import { F32_MAX } from "../protocol/sketch/codec.ts";
import type { Manifest } from "./types.ts";

/** A tensor's buffer: a typed array, or an array of strings. */
export type Column = { [i: number]: unknown; length: number; fill(v: never): Column };

/** A compiled feature: where it goes and how a raw value becomes a column value. */
export interface Check {
  /** The feature's key in a row. */
  name: string;
  /** Index of its input in the manifest. */
  input: number;
  /** First column in its input. */
  col: number;
  /** Columns taken (one-hot: one per category). */
  width: number;
  /** Category text → index; undefined for numeric features. */
  index: Map<string, number> | undefined;
  categories: string[];
  /** Feeds a string tensor (categories as text). */
  text: boolean;
  /** Numeric fast path: `lo <= v && v <= hi` holds exactly for a finite value in range. */
  lo: number;
  hi: number;
  /** The slow path, for a value that missed the fast path: protocol/row-encoding.ts `featureValue`. */
  fix: ValueOf;
}

/** How one manifest's named rows become tensors, compiled once per model version. */
export interface Plan {
  checks: Check[];
  /** Each input's dimensions after the batch one (dynamic ones resolved), in manifest order. */
  dims: number[][];
  /** Values per row of each input. */
  sizes: number[];
  /** Values staged per row before the outputs': the tabular features, then the media inputs' descriptors. */
  width: number;
  /** Whether an input is a plain tensor the app passes (neither features nor media): zeros may not fit it. */
  plain: boolean;
  /** Input buffers of a finished run, for the next one (see `reuse` in tensors.ts). */
  spare?: Column[] | undefined;
}

/**
 * Compiles the manifest's features into {@link Check}s and the inputs' row widths.
 *
 * @param manifest - the model manifest
 * @param descriptors - descriptor features of its media inputs
 */
export function compile(manifest: Manifest, descriptors = 0): Plan {
  const { inputs } = manifest;
  const checks = manifest.features.map((f): Check => {
    const input = inputs.findIndex((i) => i.name === f.input);
    const categories = f.categories ?? [];
    const index = new Map(categories.map((c, i) => [c, i]));
    const { min = -Infinity, max = Infinity } = f.range ?? {};
    return {
      name: f.name,
      input,
      col: f.index,
      width: f.encoding === "onehot" ? categories.length : 1,
      index: f.kind === "numeric" ? undefined : index,
      categories,
      text: inputs[input]!.dtype === "string",
      lo: Math.max(min, -F32_MAX),
      hi: Math.min(max, F32_MAX),
      fix: featureValue(f),
    };
  });
  const dims = inputs.map(({ media, shape }, k) =>
    media?.kind === "image"
      ? imageDims(media)
      : media?.kind === "audio"
        ? [media.frameLength]
        : shape.slice(1).map((d) => (typeof d === "number" && d > 0 ? d : Math.max(1, ...checks.map((c) => (c.input === k ? c.col + c.width : 1))))),
  );
  const plain = inputs.some((i, k) => !i.media && !checks.some((c) => c.input === k));
  return { checks, dims, sizes: dims.map((d) => d.reduce((a, b) => a * b, 1)), width: checks.length + descriptors, plain };
}
