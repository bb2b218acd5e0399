/**
 * Embedding drift from mergeable sums (protocol/sketch/embedding.ts), three ways, as server-side
 * monitors measure it on raw embeddings: the share of projected components whose mean moved, the
 * distance between the means, and the maximum mean discrepancy (MMD) under an RBF kernel.
 */
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

/** Embedding drift of a window against the reference. */
export interface EmbeddingDrift {
  /** Embeddings in the window. */
  count: number;
  /** Components whose mean moved (Welch's test, p < 0.05), of all, and whether their share reaches 0.2. */
  components: { drifted: number; of: number; share: number; verdict: boolean };
  /** ‖mean(window) − mean(reference)‖ over √(trace of the reference's covariance), against 0.2. */
  distance: { value: number; threshold: number; verdict: boolean };
  /** Unbiased MMD² of the kernel's mean embeddings, against 3 null spreads (calibrated on the reference) for the window's size. */
  mmd: { value: number; threshold: number; verdict: boolean };
  /** The MMD verdict: it sees moves of the means and changes of spread alike. */
  drifted: boolean;
}

/** Per value of two sums: mean and unbiased variance. */
function moments(count: number, sum: Float64Array, squares: Float64Array): { mean: Float64Array; variance: Float64Array } {
  const mean = sum.map((s) => s / count);
  const variance = squares.map((q, i) => (count > 1 ? Math.max(0, (q - count * mean[i]! * mean[i]!) / (count - 1)) : 0));
  return { mean, variance };
}

/**
 * Drift of `current` against `reference` (sketches of the same config).
 *
 * @param reference - the reference's sketch
 * @param current - the window's sketch
 * @param nullScale - the MMD's null spread times (1/n + 1/N)⁻¹, from {@link calibrateMmd}
 * @returns null when either side has fewer than 2 embeddings
 */
export function embeddingDrift(reference: EmbeddingSketch, current: EmbeddingSketch, nullScale: number): EmbeddingDrift | null {
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
  const mmd = unbiasedMmd(reference, current);
  const threshold = MMD_SIGMAS * nullScale * (1 / n + 1 / N);
  return {
    count: n,
    components: { drifted, of, share: drifted / of, verdict: drifted / of >= COMPONENT_SHARE },
    distance: { value: distance, threshold: DISTANCE_THRESHOLD, verdict: distance > DISTANCE_THRESHOLD },
    mmd: { value: mmd, threshold, verdict: mmd > threshold },
    drifted: mmd > threshold,
  };
}

/**
 * Unbiased MMD² between two sketches' samples, from their Fourier features: ‖mean φ(b) − mean
 * φ(a)‖² less what sampling alone adds to it (tr Σa / |a| + tr Σb / |b|).
 */
function unbiasedMmd(a: EmbeddingSketch, b: EmbeddingSketch): number {
  const ka = moments(a.count, a.kernelSum, a.kernelSquares);
  const kb = moments(b.count, b.kernelSum, b.kernelSquares);
  let squared = 0;
  let trace = 0;
  ka.mean.forEach((m, k) => {
    squared += (kb.mean[k]! - m) ** 2;
    trace += ka.variance[k]! / a.count + kb.variance[k]! / b.count;
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
