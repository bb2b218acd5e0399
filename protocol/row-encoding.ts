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
export function writeFeature(
  f: Pick<Feature, "kind" | "index" | "encoding" | "categories">,
  value: number,
  data: { [i: number]: number },
  columns: number,
  row: number,
): void {
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
