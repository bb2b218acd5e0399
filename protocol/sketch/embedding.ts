import { type Reader, TAG, type Writer, checkLimit, decodeWith, encodeWith, expectSame, fail } from "./codec.ts";

/** Most projected components an embedding sketch holds. */
export const MAX_EMBEDDING_DIMS = 256;
/** Most random Fourier features an embedding sketch holds. */
export const MAX_KERNEL_FEATURES = 1024;

/**
 * Mergeable sums of embeddings, already projected (protocol/embedding.ts): per component of the
 * projection its sum and sum of squares, and per random Fourier feature of the projection its sum
 * and sum of squares — what the collector needs for the share of drifted components, the distance
 * between means and MMD (protocol/drift/embedding.ts).
 *
 * @example
 * const s = new EmbeddingSketch(16, 64); s.update(projected, fourier);
 */
export class EmbeddingSketch {
  /** Embeddings added. */
  count = 0;
  /** Per projected component: sum, and sum of squares. */
  readonly sum: Float64Array;
  readonly squares: Float64Array;
  /** Per random Fourier feature: sum, and sum of squares. */
  readonly kernelSum: Float64Array;
  readonly kernelSquares: Float64Array;

  /**
   * @param dims - projected components
   * @param features - random Fourier features
   */
  constructor(
    readonly dims: number,
    readonly features: number,
  ) {
    checkLimit("embedding dims", dims, MAX_EMBEDDING_DIMS, Number.isInteger(dims) && dims >= 1 && dims <= MAX_EMBEDDING_DIMS);
    checkLimit("kernel features", features, MAX_KERNEL_FEATURES, Number.isInteger(features) && features >= 1 && features <= MAX_KERNEL_FEATURES);
    this.sum = new Float64Array(dims);
    this.squares = new Float64Array(dims);
    this.kernelSum = new Float64Array(features);
    this.kernelSquares = new Float64Array(features);
  }

  /**
   * Adds one embedding, projected, and its random Fourier features.
   *
   * @param projected - `dims` values
   * @param fourier - `features` values
   */
  update(projected: ArrayLike<number>, fourier: ArrayLike<number>): void {
    this.count++;
    for (let i = 0; i < this.dims; i++) {
      this.sum[i]! += projected[i]!;
      this.squares[i]! += projected[i]! * projected[i]!;
    }
    for (let i = 0; i < this.features; i++) {
      this.kernelSum[i]! += fourier[i]!;
      this.kernelSquares[i]! += fourier[i]! * fourier[i]!;
    }
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch of the same sizes
   * @returns this
   */
  merge(other: EmbeddingSketch): this {
    expectSame(this.dims === other.dims && this.features === other.features, "embedding sizes");
    this.count += other.count;
    const add = (into: Float64Array, from: Float64Array) => from.forEach((v, i) => (into[i]! += v));
    add(this.sum, other.sum);
    add(this.squares, other.squares);
    add(this.kernelSum, other.kernelSum);
    add(this.kernelSquares, other.kernelSquares);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.embedding, 1, (w: Writer) => {
      w.varint(this.dims);
      w.varint(this.features);
      w.varint(this.count);
      for (const list of [this.sum, this.squares, this.kernelSum, this.kernelSquares]) for (const v of list) w.f64(v);
    });
  }
}

/**
 * Reads {@link EmbeddingSketch.encode} bytes; malformed input — sizes past the limits, values
 * that are not finite, sums no `count` embeddings could give — throws DriftlineError `decode`.
 *
 * @param bytes - encoded sketch
 */
export function decodeEmbedding(bytes: Uint8Array): EmbeddingSketch {
  return decodeWith(bytes, TAG.embedding, 1, read);
}

function read(r: Reader): EmbeddingSketch {
  const s = new EmbeddingSketch(r.varint(MAX_EMBEDDING_DIMS), r.varint(MAX_KERNEL_FEATURES));
  s.count = r.varint(2 ** 50);
  for (const list of [s.sum, s.squares, s.kernelSum, s.kernelSquares]) for (let i = 0; i < list.length; i++) list[i] = r.f64();
  // a sum of squares is at least the square of the sum over the count (Cauchy–Schwarz)
  const consistent = (sum: Float64Array, squares: Float64Array) => squares.every((q, i) => q >= 0 && (s.count === 0 ? q === 0 && sum[i] === 0 : q * s.count >= sum[i]! * sum[i]! * (1 - 1e-9)));
  // a Fourier feature is √(2/D)·cos(…): each sum is within count·√(2/D), each sum of squares within count·2/D
  const most = Math.sqrt(2 / s.features) * (1 + 1e-9);
  const bounded = s.kernelSum.every((v, i) => Math.abs(v) <= s.count * most && s.kernelSquares[i]! <= s.count * most * most);
  if (!consistent(s.sum, s.squares) || !consistent(s.kernelSum, s.kernelSquares) || !bounded) fail("embedding sums no embeddings could give");
  return s;
}
