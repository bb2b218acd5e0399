import { DriftlineError } from "./errors.ts";
import { isFloat32Finite } from "./sketch/codec.ts";
import { valueText } from "./sketch/categorical.ts";
import type { Feature } from "./schema/manifest.ts";

/**
 * How named feature values become tensor columns, as the manifest says: a numeric feature is
 * one column; a categorical feature is one column holding the category's index (`encoding:
 * "index"`, the default) or `categories.length` one-hot columns (`encoding: "onehot"`).
 * Shared by the runtime (predict) and the CLI (profile --model) so both feed models alike.
 */

/**
 * Columns feature `f` occupies in its input tensor.
 *
 * @param f - a manifest feature
 */
export function featureWidth(f: Pick<Feature, "encoding" | "categories">): number {
  return f.encoding === "onehot" ? (f.categories?.length ?? 1) : 1;
}

/** Turns one raw value of a feature into what its tensor column gets (see {@link featureValue}). */
export type ValueOf = (value: unknown, onViolation: () => void) => number;

/**
 * How a raw value of feature `f` becomes the number its column gets — the number itself, or
 * the category's index (-1: no category, fed as all zeros one-hot) — as the manifest's policy
 * says. The runtime (predict) and the CLI's profiler (the reference predictions) both use it,
 * so a model sees the same values in both.
 *
 * - A missing value (null or undefined) of a `nullable` feature is NaN (numeric) or no category.
 * - A value in the schema: itself (numbers and booleans may name a category).
 * - Out of range under `impute`: the value as sent (the sketch counts it out of range);
 *   under `clamp`: clamped; under `reject`: refused.
 * - A category the schema does not know under `ignore`: no category, as scikit-learn's
 *   `OneHotEncoder(handle_unknown="ignore")` encodes it (not a violation); missing under `ignore`
 *   is the impute value, else no category.
 * - Anything else is a violation (`onViolation` is called): the impute value under `impute` and
 *   `clamp`, a DriftlineError `validation` under `reject` or without an impute value.
 *
 * @param f - the feature
 * @example
 * featureValue(age)(null, count) // the impute value, or NaN when age is nullable
 */
export function featureValue(f: Pick<Feature, "name" | "kind" | "range" | "categories" | "policy" | "impute" | "nullable">): ValueOf {
  const numeric = f.kind === "numeric";
  const index = new Map((f.categories ?? []).map((c, i) => [c, i]));
  const { min = -Infinity, max = Infinity } = f.range ?? {};
  const encode = (v: unknown) =>
    numeric ? (typeof v === "number" && isFloat32Finite(v) ? v : undefined) : typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? index.get(String(v)) : undefined;
  const fallback = f.impute === undefined ? undefined : encode(f.impute);
  return (value, onViolation) => {
    if (value == null && f.nullable) return numeric ? NaN : -1;
    const v = encode(value);
    if (v !== undefined && v >= min && v <= max) return v;
    // Out of range is unusual, not invalid: under "impute" the model gets the value as sent
    // (the feature sketch counts it as out of range); "clamp" clamps it, "reject" refuses it.
    if (v !== undefined && numeric && f.policy === "impute") return v;
    if (f.policy === "ignore" && !numeric) return value == null ? (fallback ?? -1) : -1;
    onViolation();
    if (v !== undefined && f.policy === "clamp") return Math.min(max, Math.max(min, v));
    if (f.policy === "reject" || fallback === undefined) {
      const why =
        value == null
          ? "missing"
          : v === undefined
            ? `${valueText(value).slice(0, 64)} (${typeof value}) is not ${numeric ? "a finite float32" : "one of its categories"}`
            : `${v} is out of its range [${min}, ${max}]`;
      throw new DriftlineError("validation", `feature "${f.name}": ${why}`);
    }
    return fallback;
  };
}

/**
 * Writes one feature value into row `row` of a `[rows, columns]` tensor buffer.
 * A categorical value is its category's index (-1 when unknown: written as -1 for index encoding,
 * all zeros for one-hot). Callers validate or impute before.
 *
 * @param f - the feature
 * @param value - a number for numeric features, the category index for categorical ones
 * @param data - the tensor's buffer
 * @param columns - columns per row of that tensor
 * @param row - the row
 * @example
 * writeFeature(feature, 12, data, 30, 0);
 */
export function writeFeature(f: Pick<Feature, "kind" | "index" | "encoding" | "categories">, value: number, data: { [i: number]: number }, columns: number, row: number): void {
  const at = row * columns + f.index;
  if (f.kind === "categorical" && f.encoding === "onehot") {
    const width = f.categories?.length ?? 1;
    for (let c = 0; c < width; c++) data[at + c] = c === value ? 1 : 0;
  } else {
    data[at] = value;
  }
}

/**
 * Columns of each input tensor the features use (the widest `index + width` per input).
 *
 * @param features - the manifest's features
 */
export function inputColumns(features: readonly Pick<Feature, "input" | "index" | "encoding" | "categories">[]): Map<string, number> {
  const columns = new Map<string, number>();
  for (const f of features) columns.set(f.input, Math.max(columns.get(f.input) ?? 0, f.index + featureWidth(f)));
  return columns;
}
