import type { BaselinePerformance, Calibration, ReferenceProfile } from "../../protocol/schema/index.ts";
import { type EmbeddingSketch, type FeatureSketch, type PredictionSketch, SKETCH_KINDS, decodeEmbedding, fromBase64 } from "../../protocol/sketch/index.ts";

/** Decoded sketches of one side of a drift comparison. */
export interface Sketches {
  /** Per feature name. */
  features: ReadonlyMap<string, FeatureSketch>;
  prediction?: PredictionSketch | undefined;
  embedding?: EmbeddingSketch | undefined;
  /** How much each sender gave (an aggregate's `SenderTally`); absent on the reference. */
  senders?: { heaviest(): number };
}

/** The decoded reference profile: its sketches and the row count the test choice depends on. */
export interface Reference extends Sketches {
  rows: number;
  /** How each feature's distances vary between reference chunks, when the profile was calibrated. */
  calibration?: Calibration | undefined;
  /** The model's quality on the reference data, when the profile recorded it. */
  performance?: BaselinePerformance | undefined;
  /** The MMD's null spread per unit of 1/n + 1/N, with the reference embeddings. */
  embeddingNullScale?: number | undefined;
}

/**
 * Decodes a reference profile's sketches (the profile was validated when the version was
 * registered; a sketch that fails to decode throws DriftlineError `decode`).
 *
 * @param profile - the manifest's reference profile
 */
export function decodeReference(profile: ReferenceProfile): Reference {
  const features = new Map<string, FeatureSketch>();
  // a feature's kind names its sketch kind; a regression prediction is a numeric sketch
  for (const [name, f] of Object.entries(profile.features)) features.set(name, SKETCH_KINDS[f.kind].decode(fromBase64(f.sketch)));
  const p = profile.prediction;
  const prediction = p && SKETCH_KINDS[p.kind === "regression" ? "numeric" : p.kind].decode(fromBase64(p.sketch));
  const embedding = profile.embedding && decodeEmbedding(fromBase64(profile.embedding.sketch));
  return { rows: profile.rows, features, prediction, embedding, embeddingNullScale: profile.embedding?.nullScale, calibration: profile.calibration, performance: profile.performance };
}
