import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { boundedRecord, nameSchema, sketchSchema } from "./common.ts";

/** Feature kinds. */
export const featureKindSchema = z.enum(["numeric", "categorical"]);

/** Prediction kinds: a ClassificationSketch or a NumericSketch. */
export const predictionKindSchema = z.enum(["classification", "regression"]);

/**
 * The reference profile published with a model version: the same sketches clients send,
 * computed once over the training (or reference) data.
 *
 * @example
 * { format: 1, rows: 7043, createdAt: "2025-01-01T00:00:00Z",
 *   features: { tenure: { kind: "numeric", sketch: "AgE…" } } }
 */
export const referenceProfileSchema = z.object({
  format: z.literal(1),
  /** Rows profiled: the drift test choice depends on it. */
  rows: z.int().min(0),
  features: boundedRecord(nameSchema, z.object({ kind: featureKindSchema, sketch: sketchSchema }), LIMITS.features),
  prediction: z.object({ kind: predictionKindSchema, sketch: sketchSchema }).optional(),
  createdAt: z.iso.datetime({ offset: true }),
});

/** A reference profile. */
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;
