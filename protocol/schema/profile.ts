import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { boundedRecord, nameSchema, sketchSchema } from "./common.ts";

/** Feature kinds. */
export const featureKindSchema = z.enum(["numeric", "categorical"]);

/** Prediction kinds: a ClassificationSketch or a NumericSketch. */
export const predictionKindSchema = z.enum(["classification", "regression"]);

/** Mean and standard deviation over reference chunks (protocol/drift/calibration.ts). */
const spreadSchema = z.tuple([z.number().min(0).max(1e12), z.number().min(0).max(1e12)]);

/** How one distance varies between reference chunks: sampling noise, natural variation, sketch error. */
const metricCalibrationSchema = z.object({ sampling: spreadSchema, natural: spreadSchema, floor: spreadSchema });

/**
 * How each feature's distances vary between chunks of the reference (`driftline profile
 * --calibrate`); a manifest's `drift.verdicts: "calibrated"` judges windows against it.
 */
export const calibrationSchema = z.object({
  /** Random chunks (sampling noise) and chunks by time or in order (natural variation). */
  chunks: z.object({ random: z.int().min(2).max(1000), ordered: z.int().min(0).max(1000), by: z.string().max(200).optional() }),
  features: boundedRecord(
    nameSchema,
    z.object({ psi: metricCalibrationSchema.optional(), js: metricCalibrationSchema.optional(), wasserstein_normed: metricCalibrationSchema.optional() }),
    LIMITS.features,
  ),
});

/** A reference profile's calibration. */
export type Calibration = z.infer<typeof calibrationSchema>;

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
  calibration: calibrationSchema.optional(),
  createdAt: z.iso.datetime({ offset: true }),
});

/** A reference profile. */
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;
