/**
 * Embedding drift from mergeable sums (protocol/sketch/embedding.ts), three ways, as server-side
 * monitors measure it on raw embeddings: the share of projected components whose mean moved, the
 * distance between the means, and the maximum mean discrepancy (MMD) under an RBF kernel.
 */
import type { EmbeddingDrift } from "../api.ts";
import { chiSquaredSf } from "./gamma.ts";
import type { EmbeddingSketch } from "../sketch/embedding.ts";
import { emptyLike } from "../sketch/kinds.ts";

/** A component drifts when its Welch test's two-sided p-value is below this. */
export const COMPONENT_P = 0.05;
/** The embedding drifts by components when at least this share of them drift (Evidently's default). */
export const COMPONENT_SHARE = 0.2;
/** The embedding drifts by distance when the normed distance between means passes this. */
export const DISTANCE_THRESHOLD = 0.2;
/** The embedding drifts by MMD when the unbiased MMD² passes this many of its null spreads. */
export const MMD_SIGMAS = 3;
/** Random chunks per deal and deals of the reference when calibrating the MMD's null spread. */
export const EMBEDDING_CHUNKS = 10;
export const EMBEDDING_DEALS = 4;

/** Past this share of a window's embeddings from one sender, its embedding drift has no verdict. */
export const MAX_SENDER_SHARE = 0.5;

/** Per value of two sums: mean and unbiased variance. */
function moments(count: number, sum: Float64Array, squares: Float64Array): { mean: Float64Array; variance: Float64Array } {
  const mean = sum.map((s) => s / count);
  const variance = squares.map((q, i) => (count > 1 ? Math.max(0, (q - count * mean[i]! * mean[i]!) / (count - 1)) : 0));
  return { mean, variance };
}

/**
 * Drift of `current` against `reference` (sketches of the same config). The MMD, whose Fourier
 * features are bounded, is judged without the heaviest sender's share wherever its embeddings
 * lie (a lower bound of the rest's, against the rest's threshold: see {@link unbiasedMmd}), so
 * `drifted` is out of one sender's reach. `components` and `distance` are of all the data: with
 * the manifest's `clip` a sender's share t moves a component's mean by at most 2t·clip, but
 * judged without that share at its worst they missed honest drift behind a heaviest sender of
 * 2 % (docs/models.md "Embeddings"). When the heaviest
 * sender may have given more than half of the window, no verdict holds (per-sender budgets
 * already scale a flood down).
 *
 * @param reference - the reference's sketch
 * @param current - the window's sketch
 * @param nullScale - the MMD's null spread times (1/n + 1/N)⁻¹, from {@link calibrateMmd}
 * @param heaviest - embeddings the heaviest sender may have given (an upper bound)
 * @returns null when either side has fewer than 2 embeddings
 */
export function embeddingDrift(reference: EmbeddingSketch, current: EmbeddingSketch, nullScale: number, heaviest = 0): EmbeddingDrift | null {
  const [N, n] = [reference.count, current.count];
  if (N < 2 || n < 2) return null;
  const ref = moments(N, reference.sum, reference.squares);
  const cur = moments(n, current.sum, current.squares);
  let drifted = 0;
  let gap = 0;
  let spread = 0;
  ref.mean.forEach((m, i) => {
    const d = cur.mean[i]! - m;
    const se = ref.variance[i]! / N + cur.variance[i]! / n;
    // two-sided p of a normal z: P(χ²₁ > z²)
    if (se > 0 ? chiSquaredSf((d * d) / se, 1) < COMPONENT_P : d !== 0) drifted++;
    gap += d * d;
    spread += ref.variance[i]!;
  });
  const of = ref.mean.length;
  const distance = spread > 0 ? Math.sqrt(gap / spread) : gap > 0 ? Infinity : 0;
  const senderShare = Math.min(1, heaviest / n);
  const trusted = senderShare <= MAX_SENDER_SHARE && (1 - senderShare) * n >= 2;
  // judged without the heaviest sender's share, wherever its embeddings lie
  const mmd = trusted ? unbiasedMmd(reference, current, senderShare) : unbiasedMmd(reference, current);
  const threshold = MMD_SIGMAS * nullScale * (1 / (trusted ? (1 - senderShare) * n : n) + 1 / N);
  return {
    count: n,
    components: { drifted, of, share: drifted / of, verdict: trusted && drifted / of >= COMPONENT_SHARE },
    distance: { value: distance, threshold: DISTANCE_THRESHOLD, verdict: trusted && distance > DISTANCE_THRESHOLD },
    mmd: { value: mmd, threshold, verdict: trusted && mmd > threshold },
    sender_share: senderShare,
    drifted: trusted && mmd > threshold,
  };
}

/**
 * Unbiased MMD² between two sketches' samples, from their Fourier features: ‖mean φ(b) − mean
 * φ(a)‖² less what sampling alone adds to it (tr Σa / |a| + tr Σb / |b|).
 *
 * With `trimmed` > 0, a lower bound of that of `b` without any share `trimmed` of its embeddings,
 * wherever those lie: a Fourier feature is within ±√(2/D), so b's mean of feature k without them
 * lies within (mean − t·√(2/D), mean + t·√(2/D)) / (1 − t), and the gap counts as the least
 * over that interval; their sum of squared deviations is at most b's (what the rest adds to it is
 * never negative), over r = (1 − t)·|b| embeddings (at least 2). So one sender's share of the
 * window adds nothing to it that the rest of the data does not show, as trimming does for
 * features (protocol/drift/sender-trim.ts).
 */
function unbiasedMmd(a: EmbeddingSketch, b: EmbeddingSketch, trimmed = 0): number {
  const ka = moments(a.count, a.kernelSum, a.kernelSquares);
  const kb = moments(b.count, b.kernelSum, b.kernelSquares);
  const keep = 1 - trimmed;
  const reach = trimmed * Math.sqrt(2 / b.features);
  // b's unbiased variance, as the rest's (sum of squares at most b's, over r − 1) over r
  const rest = keep * b.count;
  const perVariance = trimmed > 0 ? (b.count - 1) / ((rest - 1) * rest) : 1 / b.count;
  let squared = 0;
  let trace = 0;
  ka.mean.forEach((m, k) => {
    const [lo, hi] = [(kb.mean[k]! - reach) / keep, (kb.mean[k]! + reach) / keep];
    squared += (m < lo ? lo - m : m > hi ? m - hi : 0) ** 2;
    trace += ka.variance[k]! / a.count + kb.variance[k]! * perVariance;
  });
  return squared - trace;
}

/**
 * The MMD's null spread, per unit of (1/n + 1/N): the root mean square, over deals of the
 * reference into random chunks, of each chunk's unbiased MMD² against the rest of its deal,
 * divided by (1/|chunk| + 1/|rest|). Under no drift the statistic's spread falls as 1/n + 1/N,
 * and the kernel's features are correlated, so no formula from the sums alone gives it: the
 * reference does (`driftline profile` records it).
 *
 * @param deals - each deal: the reference's rows dealt into chunks, one sketch per chunk
 */
export function calibrateMmd(deals: readonly (readonly EmbeddingSketch[])[]): number {
  const scaled: number[] = [];
  for (const chunks of deals) {
    for (const [i, chunk] of chunks.entries()) {
      const rest = chunks.filter((_, j) => j !== i).reduce((sum, c) => sum.merge(c), emptyLike(chunk));
      if (chunk.count < 2 || rest.count < 2) continue;
      scaled.push(unbiasedMmd(rest, chunk) / (1 / chunk.count + 1 / rest.count));
    }
  }
  if (scaled.length === 0) throw new RangeError("no chunk of the reference holds 2 embeddings");
  return Math.sqrt(scaled.reduce((a, v) => a + v * v, 0) / scaled.length);
}
