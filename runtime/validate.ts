import { DriftlineError } from "../protocol/errors.ts";
import type { Manifest } from "./types.ts";

type Feature = Manifest["features"][number];

/** A compiled feature: where it goes and how a raw value becomes a column value. */
export interface Check {
  feature: Feature;
  /** First column in its input. */
  col: number;
  /** Columns taken (one-hot: one per category). */
  width: number;
  /** Feeds a string tensor (categories as text). */
  text: boolean;
  /**
   * The value to feed: the number, the category index (-1: none), or the category text.
   * Violations call `onViolation`; policy `reject` (or nothing to fall back on) throws
   * DriftlineError `validation`.
   */
  clean(value: unknown, onViolation: () => void): number | string;
}

/**
 * Compiles the manifest's features into {@link Check}s, once per model version, so a row
 * costs a few comparisons per feature.
 *
 * @param manifest - the model manifest
 */
export function compileChecks(manifest: Manifest): Check[] {
  return manifest.features.map((f) => {
    const input = manifest.inputs.find((i) => i.name === f.input)!;
    const text = input.dtype === "string";
    const cats = f.categories ?? [];
    const index = new Map(cats.map((c, i) => [c, i]));
    const { min = -Infinity, max = Infinity } = f.range ?? {};
    const encode = (v: unknown): number | string | undefined => {
      if (f.kind === "numeric") return typeof v === "number" && v - v === 0 ? v : undefined;
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return undefined;
      const i = index.get(String(v));
      return i === undefined ? undefined : text ? String(v) : i;
    };
    const fallback = f.impute === undefined ? undefined : encode(f.impute);
    const fail = (why: string): never => {
      throw new DriftlineError("validation", `feature "${f.name}": ${why}`);
    };
    return {
      feature: f,
      col: f.index,
      width: f.encoding === "onehot" ? cats.length : 1,
      text,
      clean(value, onViolation) {
        if (value == null && f.nullable) return f.kind === "numeric" ? NaN : text ? "" : -1;
        let v = encode(value);
        if (typeof v === "number" && (v < min || v > max)) {
          onViolation();
          if (f.policy === "clamp") return Math.min(max, Math.max(min, v));
          v = undefined;
        } else if (v === undefined) onViolation();
        if (v !== undefined) return v;
        if (f.policy === "reject" || fallback === undefined) fail(value == null ? "missing" : `invalid value ${String(value).slice(0, 64)}`);
        return fallback!;
      },
    };
  });
}
