import { z } from "zod";
import { LIMITS, MAX_LABELS } from "../limits.ts";
import { boundedRecord, nameSchema, sketchSchema } from "./common.ts";
import { CONFIDENCE_BINS } from "../sketch/prediction.ts";

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

const rate = z.number().min(0).max(1);
const perClass = boundedRecord(nameSchema, rate.nullable(), LIMITS.categories);

/**
 * What the collector estimates a classifier's performance without labels from
 * (protocol/performance-estimate.ts), fitted by `driftline profile --target` on the reference rows.
 */
export const estimationSchema = z.object({
  /** Per predicted class (at most 64, as a confusion matrix), per confidence bin of the top score: the chance such a prediction is right. */
  curves: z.array(z.array(rate).length(CONFIDENCE_BINS)).min(2).max(MAX_LABELS),
  /** Per predicted class, how its wrong predictions spread over the true classes. */
  misses: z.array(z.array(rate).max(MAX_LABELS)).min(2).max(MAX_LABELS),
  /**
   * Per predicted class and confidence bin, the mean −ln(top score) and −ln(1 − top score) of the
   * reference's predictions there (the bin's middle where it had none): the log loss of a right
   * and of a wrong prediction. Absent in profiles made before it: then no log loss is estimated.
   */
  losses: z
    .array(z.array(z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)])).length(CONFIDENCE_BINS))
    .min(2)
    .max(MAX_LABELS)
    .optional(),
  /**
   * Spread of (realised − estimated) over random chunks of the reference of `rows` rows each: the
   * band around a window's estimate (±3 of them, scaled to the window's rows).
   */
  band: z.object({ rows: z.number().positive().max(1e12), accuracy: z.number().min(0).max(1), f1: perClass }),
});

/** What `driftline profile --target` fits for label-free performance estimates. */
export type Estimation = z.infer<typeof estimationSchema>;

/**
 * The model's quality on the reference data (`driftline profile --target COL --model m.onnx`):
 * what live performance is compared with. Classification as scikit-learn computes it (precision,
 * recall and F1 per class; ROC AUC of the second class's probability for two classes; log loss
 * with probabilities clipped to [1e-15, 1 − 1e-15]) plus the calibration of the top-class
 * probability in 10 equal-width bins; regression MAE and RMSE.
 */
export const baselinePerformanceSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("classification"),
    labelled: z.int().min(1),
    accuracy: rate,
    precision: perClass,
    recall: perClass,
    f1: perClass,
    roc_auc: rate.optional(),
    log_loss: z.number().min(0).max(1e6),
    /** Per bin of the top-class probability: its mean, the share of rows it got right, and the rows in it. */
    calibration: z.object({ confidence: z.array(rate.nullable()).max(100), accuracy: z.array(rate.nullable()).max(100), count: z.array(z.int().min(0)).max(100) }),
    /** For estimates without labels; absent when no reference prediction had a score. */
    estimation: estimationSchema.optional(),
  }),
  z.object({ kind: z.literal("regression"), labelled: z.int().min(1), mae: z.number().min(0).max(1e300), rmse: z.number().min(0).max(1e300) }),
]);

/** A model's quality on its reference data. */
export type BaselinePerformance = z.infer<typeof baselinePerformanceSchema>;

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
  performance: baselinePerformanceSchema.optional(),
  /** The reference embeddings (EmbeddingSketch) and the MMD's null spread per unit of 1/n + 1/N (protocol/drift/embedding.ts). */
  embedding: z.object({ sketch: sketchSchema, nullScale: z.number().positive().max(1e12) }).optional(),
  createdAt: z.iso.datetime({ offset: true }),
});

/** A reference profile. */
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;
