import type { BaselinePerformance, Calibration, Manifest, ReferenceProfile } from "../../protocol/schema/index.ts";
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
  /** The manifest's bound of each projected component of the embedding, when it has one. */
  embeddingClip?: number | undefined;
}

/**
 * Decodes a reference profile's sketches (the profile was validated when the version was
 * registered; a sketch that fails to decode throws DriftlineError `decode`).
 *
 * @param profile - the manifest's reference profile
 * @param embedding - the manifest's embedding settings, if any (their `clip`)
 */
export function decodeReference(profile: ReferenceProfile, embedding?: Manifest["embedding"]): Reference {
  const features = new Map<string, FeatureSketch>();
  // a feature's kind names its sketch kind; a regression prediction is a numeric sketch
  for (const [name, f] of Object.entries(profile.features)) features.set(name, SKETCH_KINDS[f.kind].decode(fromBase64(f.sketch)));
  const p = profile.prediction;
  const prediction = p && SKETCH_KINDS[p.kind === "regression" ? "numeric" : p.kind].decode(fromBase64(p.sketch));
  const sketch = profile.embedding && decodeEmbedding(fromBase64(profile.embedding.sketch));
  const { calibration, performance } = profile;
  return { rows: profile.rows, features, prediction, embedding: sketch, embeddingNullScale: profile.embedding?.nullScale, embeddingClip: embedding?.clip, calibration, performance };
}
