import { blurValue } from "./blur.ts";
/**
 * What a device keeps of an embedding: a seeded random projection to a few components, and random
 * Fourier features of the projection (Rahimi & Recht) whose mean approximates the RBF kernel's
 * mean embedding — so the collector can measure MMD from sums. Every device and `driftline
 * profile` draw the same matrices from the manifest's seed.
 */
import { EMBEDDING_CHUNKS, EMBEDDING_DEALS, calibrateMmd } from "./drift/embedding.ts";
import { seededRandom } from "./seeded-random.ts";
import { EmbeddingSketch } from "./sketch/embedding.ts";

/** A manifest's embedding settings (protocol/schema/manifest.ts `embedding`). */
export interface EmbeddingConfig {
  /** Length of the embedding vectors. */
  length: number;
  /** Projected components. */
  dims: number;
  /** Random Fourier features. */
  features: number;
  /** Seed of the projection and the features. */
  seed: number;
  /** The RBF kernel's bandwidth σ, in projected units: k(a, b) = exp(−‖a − b‖² / 2σ²). */
  bandwidth: number;
  /**
   * Each projected component is clipped to ±clip (when set), so one sender's share of a window
   * moves its components' sums a bounded amount and drift can be judged without it
   * (protocol/drift/embedding.ts).
   */
  clip?: number | undefined;
}

/** The random matrices of one config, drawn once. */
export class EmbeddingProjector {
  /** Rademacher projection, ±1/√dims, row-major dims × length. */
  private readonly projection: Float64Array;
  /** Fourier frequencies ~ N(0, 1/σ²), row-major features × dims, and phases in [0, 2π). */
  private readonly frequencies: Float64Array;
  private readonly phases: Float64Array;

  /** @param config - the manifest's embedding settings */
  constructor(readonly config: EmbeddingConfig) {
    const { length, dims, features, seed, bandwidth } = config;
    const signs = seededRandom(seed >>> 0 || 1);
    const scale = 1 / Math.sqrt(dims);
    this.projection = Float64Array.from({ length: dims * length }, () => (signs() < 0.5 ? -scale : scale));
    const normal = seededRandom((seed ^ 0x5bd1e995) >>> 0 || 1);
    // Box–Muller, one value per pair of uniforms
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - normal())) * Math.cos(2 * Math.PI * normal());
    this.frequencies = Float64Array.from({ length: features * dims }, () => gaussian() / bandwidth);
    this.phases = Float64Array.from({ length: features }, () => 2 * Math.PI * normal());
  }

  /**
   * The projection of one embedding, each component blurred as every number a report carries
   * (protocol/blur.ts): a report of one embedding gives its projection to about 0.1 %, not exactly;
   * then clipped to ±`clip` when the config has one.
   *
   * @param embedding - `length` values
   */
  project(embedding: ArrayLike<number>): Float64Array {
    const { length, dims, clip = Infinity } = this.config;
    if (embedding.length !== length) throw new RangeError(`an embedding of ${embedding.length} values; the manifest says ${length}`);
    const out = new Float64Array(dims);
    for (let i = 0; i < dims; i++) {
      let sum = 0;
      for (let j = 0, at = i * length; j < length; j++, at++) sum += this.projection[at]! * embedding[j]!;
      out[i] = Math.min(clip, Math.max(-clip, blurValue(sum)));
    }
    return out;
  }

  /**
   * The random Fourier features of a projection: √(2/D) · cos(w · z + b).
   *
   * @param projected - from {@link project}
   */
  fourier(projected: ArrayLike<number>): Float64Array {
    const { dims, features } = this.config;
    const out = new Float64Array(features);
    const amplitude = Math.sqrt(2 / features);
    for (let k = 0; k < features; k++) {
      let dot = this.phases[k]!;
      for (let i = 0, at = k * dims; i < dims; i++, at++) dot += this.frequencies[at]! * projected[i]!;
      out[k] = amplitude * Math.cos(dot);
    }
    return out;
  }

  /** An empty sketch of this config's sizes. */
  sketch(): EmbeddingSketch {
    return new EmbeddingSketch(this.config.dims, this.config.features);
  }

  /**
   * Adds one embedding to a sketch: its projection and their Fourier features.
   *
   * @param sketch - a sketch of this config's sizes
   * @param embedding - `length` values
   */
  add(sketch: EmbeddingSketch, embedding: ArrayLike<number>): void {
    const projected = this.project(embedding);
    sketch.update(projected, this.fourier(projected));
  }
}

/**
 * The reference side of embedding drift, as `driftline profile` builds it: every reference
 * embedding in one sketch, and dealt (seeded, so a profile is reproducible) into random chunks to
 * calibrate the MMD's null spread (protocol/drift/embedding.ts {@link calibrateMmd}).
 */
export class EmbeddingReference {
  readonly sketch: EmbeddingSketch;
  private readonly deals: EmbeddingSketch[][];
  private readonly random = seededRandom();

  /** @param projector - the manifest's projection */
  constructor(private readonly projector: EmbeddingProjector) {
    this.sketch = projector.sketch();
    this.deals = Array.from({ length: EMBEDDING_DEALS }, () => Array.from({ length: EMBEDDING_CHUNKS }, () => projector.sketch()));
  }

  /**
   * Adds one reference embedding.
   *
   * @param embedding - `length` values
   */
  add(embedding: ArrayLike<number>): void {
    const projected = this.projector.project(embedding);
    const fourier = this.projector.fourier(projected);
    this.sketch.update(projected, fourier);
    for (const deal of this.deals) deal[Math.floor(this.random() * EMBEDDING_CHUNKS)]!.update(projected, fourier);
  }

  /** The MMD's null spread per unit of (1/n + 1/N). */
  nullScale(): number {
    return calibrateMmd(this.deals);
  }
}
