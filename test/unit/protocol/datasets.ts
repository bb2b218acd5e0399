/** Seeded test data for the sketch tests and the sketch bench. */

/** A seeded xorshift32 uniform generator in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** The distributions the accuracy tests run over. */
export const DATASETS: Record<string, (r: () => number) => number> = {
  uniform: (r) => r() * 100,
  normal: (r) => 50 + 10 * normal(r),
  lognormal: (r) => Math.exp(1 + 1.5 * normal(r)),
  bimodal: (r) => (r() < 0.3 ? -20 + 2 * normal(r) : 40 + 5 * normal(r)),
  "heavy-tailed": (r) => (r() < 0.5 ? -1 : 1) * (1 / (1 - r()) ** (1 / 1.2) - 1),
  duplicates: (r) => Math.floor(r() * 25) * 0.5,
};

/** Pairs of datasets (and seeds) whose KS the accuracy tests compare: [a, seed a, b, seed b]. */
export const KS_PAIRS: readonly [string, number, string, number][] = [
  ["normal", 1, "normal", 2],
  ["normal", 1, "uniform", 3],
  ["lognormal", 4, "heavy-tailed", 5],
  ["bimodal", 6, "normal", 7],
  ["duplicates", 8, "duplicates", 9],
];

/**
 * `n` values of a dataset.
 *
 * @param name - a key of {@link DATASETS}
 * @param n - how many
 * @param seed - generator seed
 */
export function generate(name: string, n: number, seed = 1): Float64Array {
  const gen = DATASETS[name]!;
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = gen(r);
  return out;
}

/** Count of sorted values ≤ x. */
export function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Exact two-sample KS statistic of two sorted samples. */
export function exactKs(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length || j < b.length) {
    const x = Math.min(a[i] ?? Infinity, b[j] ?? Infinity);
    while (i < a.length && a[i]! <= x) i++;
    while (j < b.length && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}
