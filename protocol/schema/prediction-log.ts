import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { boundedRecord, modelNameSchema, nameSchema, versionSchema } from "./common.ts";
import { segmentKeySchema } from "./report.ts";

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "id: letters, digits, _ . and -")
  .max(LIMITS.reportIdLength);

/** A label fed back with `feedback()`: a class name or index, or a regression target. */
const actualSchema = z.union([z.string().max(LIMITS.nameLength), z.number()]);

/**
 * One logged prediction: the inputs as the app sent them (the model's features only; NaN and
 * missing values arrive as null), what the model answered, and the label once it was fed back
 * before the row left the device.
 */
export const logRowSchema = z.strictObject({
  /** The prediction id `predict()` answered (what `feedback()` takes). */
  id: idSchema,
  version: versionSchema,
  /** When it was predicted, epoch ms. */
  t: z.int().min(0),
  segment: boundedRecord(segmentKeySchema, z.string().max(LIMITS.segmentValueLength), LIMITS.segmentKeys),
  inputs: boundedRecord(nameSchema, z.union([z.number(), z.string().max(LIMITS.logValueLength), z.boolean(), z.null()]), LIMITS.features),
  /** Top class (classification with labels). */
  label: z.string().max(LIMITS.nameLength).optional(),
  /** Top-class score or the predicted value; null: none. */
  score: z.number().nullable(),
  /** The label fed back. */
  actual: actualSchema.optional(),
});

/** A label fed back for a row that already left the device: stored beside it, joined on export. */
export const logLabelSchema = z.strictObject({
  id: idSchema,
  version: versionSchema,
  /** When the labelled row was predicted (it files the label in the row's partition), epoch ms. */
  t: z.int().min(0),
  actual: actualSchema,
});

/**
 * A batch of `POST /v1/logs`: sampled rows of one model and one client, and labels of rows sent
 * earlier. `id` is random per batch and kept across retries, so a retry writes nothing twice.
 */
export const logBatchSchema = z
  .strictObject({
    id: idSchema,
    model: modelNameSchema,
    client: z.string().min(1).max(LIMITS.clientLength),
    rows: z.array(logRowSchema).max(LIMITS.logRowsPerBatch),
    labels: z.array(logLabelSchema).max(LIMITS.logRowsPerBatch),
    /** Sampled rows the device dropped from its full buffer since its last batch. */
    dropped: z.int().min(0).max(LIMITS.reportRows).optional(),
  })
  .refine((b) => b.rows.length + b.labels.length > 0, "a batch needs rows or labels");

/** A logged row. */
export type LogRow = z.infer<typeof logRowSchema>;
/** A label of a logged row. */
export type LogLabel = z.infer<typeof logLabelSchema>;
/** A batch of `POST /v1/logs`. */
export type LogBatch = z.infer<typeof logBatchSchema>;
