/**
 * Statistics of raw tensors as features: a manifest's `tensorStats` names inputs and outputs
 * whose every `run(feeds)` call adds one value to each of the numeric features
 * `<tensor>.mean`, `.std`, `.min`, `.max` (of the finite elements) and `.nonFinite` (the share of
 * NaN and ±Infinity elements) — so drift, segments, alerts, stats and the dashboard judge a raw
 * model's tensors as they judge any feature.
 */
import { pairedWhole } from "../blur.ts";

/** The statistics of a tensor, in the order {@link describeTensor} answers them. */
export const TENSOR_STATS = ["mean", "std", "min", "max", "nonFinite"] as const;

/**
 * The statistic features of the tensors a manifest names, tensor by tensor: the order
 * {@link describeTensors} answers their values in.
 *
 * @param tensors - the manifest's `tensorStats`
 */
export const tensorStatFeatures = (tensors: readonly string[] = []): { name: string; kind: "numeric" }[] =>
  tensors.flatMap((tensor) => TENSOR_STATS.map((stat) => ({ name: `${tensor}.${stat}`, kind: "numeric" as const })));

/**
 * A tensor's statistics, in {@link TENSOR_STATS} order: the mean, population standard deviation,
 * minimum and maximum of its finite elements (NaN when it has none), and the share of its elements
 * that are not finite (NaN when it is empty). Integer elements count as numbers, booleans as 0 and
 * 1; a string tensor has no statistics (all NaN).
 *
 * @param data - the tensor's elements
 * @param recorded - what each finite element counts as (default: itself)
 * @example
 * describeTensor(Float32Array.of(1, 2, NaN, 3)) // [2, 0.816…, 1, 3, 0.25]
 */
export function describeTensor(data: ArrayLike<unknown>, recorded = (v: number) => v): number[] {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const raw = data[i];
    let v = typeof raw === "number" ? raw : typeof raw === "bigint" || typeof raw === "boolean" ? Number(raw) : NaN;
    if (v - v !== 0) continue;
    v = recorded(v);
    // Welford: one pass, no cancellation on large values
    const delta = v - mean;
    mean += delta / ++n;
    m2 += delta * (v - mean);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const strings = data.length > 0 && typeof data[0] === "string";
  if (!n) return [NaN, NaN, NaN, NaN, data.length && !strings ? 1 : NaN];
  return [mean, Math.sqrt(m2 / n), min, max, (data.length - n) / data.length];
}

/**
 * One `run()` call's values of the {@link tensorStatFeatures} of `names`: {@link describeTensor}
 * of each named tensor among the call's inputs and outputs (a tensor the call lacks has none: NaN).
 * The elements of a tensor that is not of floats (token ids, counts, booleans) are described as
 * recorded: each one paired with a neighbour. Exact, a short tensor's statistics gave its
 * elements back — the largest token id of a few words is the rarest word — and its mean their sum.
 *
 * @param names - the manifest's `tensorStats`
 * @param call - the call's inputs and outputs, by name
 */
export const describeTensors = (names: readonly string[], call: Record<string, { data: unknown } | undefined>): number[] =>
  names.flatMap((name) => {
    const data = (call[name]?.data ?? []) as ArrayLike<unknown>;
    return describeTensor(data, data instanceof Float32Array || data instanceof Float64Array ? undefined : pairedWhole);
  });
