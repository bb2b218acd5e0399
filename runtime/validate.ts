import { DriftlineError } from "../protocol/errors.ts";
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
  /**
   * The slow path, for a value that missed the fast path: the number (or category index, -1
   * for none) to feed. Violations call `onViolation`; policy `reject` (or nothing to fall back
   * on) throws DriftlineError `validation`.
   */
  fix(value: unknown, onViolation: () => void): number;
}

/** How one manifest's named rows become tensors, compiled once per model version. */
export interface Plan {
  checks: Check[];
  /** Each input's dimensions after the batch one (dynamic ones resolved), in manifest order. */
  dims: number[][];
  /** Values per row of each input. */
  sizes: number[];
  /** Input buffers of a finished run, for the next one (see `reuse` in tensors.ts). */
  spare?: Column[] | undefined;
}

/**
 * Compiles the manifest's features into {@link Check}s and the inputs' row widths.
 *
 * @param manifest - the model manifest
 */
export function compile(manifest: Manifest): Plan {
  const { inputs } = manifest;
  const checks = manifest.features.map((f): Check => {
    const input = inputs.findIndex((i) => i.name === f.input);
    const categories = f.categories ?? [];
    const index = new Map(categories.map((c, i) => [c, i]));
    const { min = -Infinity, max = Infinity } = f.range ?? {};
    const numeric = f.kind === "numeric";
    const encode = (v: unknown) =>
      numeric
        ? typeof v === "number" && v - v === 0
          ? v
          : undefined
        : typeof v === "string" || typeof v === "number" || typeof v === "boolean"
          ? index.get(String(v))
          : undefined;
    const fallback = f.impute === undefined ? undefined : encode(f.impute);
    return {
      name: f.name,
      input,
      col: f.index,
      width: f.encoding === "onehot" ? categories.length : 1,
      index: numeric ? undefined : index,
      categories,
      text: inputs[input]!.dtype === "string",
      lo: Math.max(min, -Number.MAX_VALUE),
      hi: Math.min(max, Number.MAX_VALUE),
      fix(value, onViolation) {
        if (value == null && f.nullable) return numeric ? NaN : -1;
        const v = encode(value);
        // numbers and booleans may name a category: valid, just off the fast path
        if (v !== undefined && v >= min && v <= max) return v;
        // Out of range is unusual, not invalid: under "impute" the model gets the value as sent
        // (the feature sketch counts it as out of range); "clamp" clamps it, "reject" refuses it.
        if (v !== undefined && numeric && f.policy === "impute") return v;
        onViolation();
        if (v !== undefined && f.policy === "clamp") return Math.min(max, Math.max(min, v));
        if (f.policy === "reject" || fallback === undefined) throw new DriftlineError("validation", `feature "${f.name}": ${value == null ? "missing" : String(value).slice(0, 64)}`);
        return fallback;
      },
    };
  });
  const dims = inputs.map((i, k) => i.shape.slice(1).map((d) => (typeof d === "number" && d > 0 ? d : Math.max(1, ...checks.map((c) => (c.input === k ? c.col + c.width : 1))))));
  return { checks, dims, sizes: dims.map((d) => d.reduce((a, b) => a * b, 1)) };
}
