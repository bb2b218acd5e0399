import type { Manifest, Tensor } from "./types.ts";

/** One row's decoded outputs. */
export interface Decoded {
  /** This row's slice of every output tensor. */
  outputs: Record<string, ArrayLike<unknown>>;
  label?: string;
  /** Index of the predicted class, when there are classes. */
  cls?: number;
  score?: number;
}

/** The class labels of a manifest's classifier output, if it has one. */
export const classLabels = (manifest: Manifest): string[] | undefined =>
  manifest.outputs.find((o) => o.labels && (o.kind === "probabilities" || o.kind === "label"))?.labels;

/**
 * Splits output tensors into rows and reads label, class and score as the manifest says:
 * `probabilities` → argmax and its score, `label` → class (index or text), `score` and
 * `regression` → the value.
 *
 * @param manifest - the model manifest
 * @param result - the session's outputs
 * @param n - rows in the batch
 */
export function decodeOutputs(manifest: Manifest, result: Record<string, Tensor>, n: number): Decoded[] {
  const rows: Decoded[] = [];
  for (let r = 0; r < n; r++) rows.push({ outputs: {} });
  for (const o of manifest.outputs) {
    const t = result[o.name];
    if (!t) continue;
    const data = t.data as ArrayLike<unknown> & { subarray?: (a: number, b: number) => ArrayLike<unknown>; slice(a: number, b: number): ArrayLike<unknown> };
    const w = data.length / n;
    for (let r = 0; r < n; r++) {
      const d = rows[r]!;
      const at = r * w;
      d.outputs[o.name] = data.subarray ? data.subarray(at, at + w) : data.slice(at, at + w);
      if (o.kind === "probabilities") {
        let best = 0;
        for (let i = 1; i < w; i++) if ((data[at + i] as number) > (data[at + best] as number)) best = i;
        d.score = data[at + best] as number;
        d.cls ??= best;
      } else if (o.kind === "label") {
        const v = data[at];
        d.cls = typeof v === "string" ? (o.labels?.indexOf(v) ?? -1) : Number(v);
        if (typeof v === "string") d.label = v;
      } else d.score ??= Number(data[at]);
      if (o.labels && d.cls !== undefined) d.label ??= o.labels[d.cls];
    }
  }
  return rows;
}
