import { z } from "zod";
import { LIMITS, SEGMENT_KEY } from "../limits.ts";
import { otherSketchChars } from "../report-size.ts";
import { boundedRecord, modelNameSchema, nameSchema, rateSchema, sketchSchema, versionSchema } from "./common.ts";

const epochMs = z.int().min(0);

/** A segment key: 1–32 letters, digits, `_`, `.` or `-`. */
export const segmentKeySchema = z.string().regex(SEGMENT_KEY, "segment key: 1-32 of letters, digits, _ . -");

/** Agreement of a shadow version with the live one over the same sampled rows. */
export const shadowReportSchema = z
  .object({
    version: versionSchema,
    /** Rows both versions ran on. */
    rows: z.int().min(0).max(LIMITS.reportRows),
    /** Rows where both predicted the same label (classification). */
    agree: z.int().min(0).optional(),
    /** The shadow's predictions (ClassificationSketch or NumericSketch). */
    prediction: sketchSchema.optional(),
    /** NumericSketch of shadow score (or value) minus live score. */
    delta: sketchSchema.optional(),
    /** LatencySketch of the shadow runs. */
    latency: sketchSchema.optional(),
  })
  .refine((s) => (s.agree ?? 0) <= s.rows, { message: "agree above rows", path: ["agree"] });

/**
 * One client report: the sketches of one period, one model version, one segment. Sketches
 * are base64 of protocol/sketch encodings.
 */
export const reportSchema = z
  .object({
    /** Client-generated idempotency key. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "id: letters, digits, _ and -")
      .max(LIMITS.reportIdLength),
    model: modelNameSchema,
    version: versionSchema,
    role: z.enum(["live", "shadow"]),
    client: z.string().min(1).max(LIMITS.clientLength),
    /** Start of the period covered, epoch ms. */
    start: epochMs,
    /** End of the period covered, epoch ms. */
    end: epochMs,
    /** e.g. backend, appVersion, country. */
    segment: boundedRecord(segmentKeySchema, z.string().max(LIMITS.segmentValueLength), LIMITS.segmentKeys),
    /** Rows predicted in the period (before sampling); every sketch holds at most this many values. */
    rows: z.int().min(0).max(LIMITS.reportRows),
    /**
     * Set on the continuations of a report split by features (1, 2, …): the same period and
     * `rows`, other features. Its sketches are checked against `rows`, but its rows are not
     * counted again (the part without `part` counts them).
     */
    part: z.int().min(1).max(LIMITS.features).optional(),
    /** Fraction of rows that were sketched. */
    sampleRate: rateSchema,
    /** Per feature: NumericSketch or CategoricalSketch. */
    features: boundedRecord(nameSchema, sketchSchema, LIMITS.features),
    /** ClassificationSketch or NumericSketch. */
    prediction: sketchSchema.optional(),
    /** LatencySketch. */
    latency: sketchSchema.optional(),
    /** ErrorCounts. */
    errors: sketchSchema.optional(),
    /** ConfusionMatrix of labels given with `feedback()` (classification). */
    confusion: sketchSchema.optional(),
    /** NumericSketch of label minus prediction for labels given with `feedback()` (regression). */
    residual: sketchSchema.optional(),
    /** EmbeddingSketch of the rows' embeddings, projected as the manifest's `embedding` says. */
    embedding: sketchSchema.optional(),
    shadow: shadowReportSchema.optional(),
  })
  .check((ctx) => {
    const r = ctx.value;
    if (r.end < r.start) ctx.issues.push({ code: "custom", path: ["end"], message: "end before start", input: r });
    const bytes = Object.values(r.features).reduce((n, s) => n + s.length, otherSketchChars(r));
    if (bytes > LIMITS.reportBytes) {
      ctx.issues.push({
        code: "too_big",
        origin: "report",
        maximum: LIMITS.reportBytes,
        message: `sketches take ${bytes} bytes, limit ${LIMITS.reportBytes}`,
        input: r,
      });
    }
  });

/**
 * A batch of reports, as `POST /v1/reports` takes it. `sentAt`: the device's wall clock when it
 * sent the batch (epoch ms), by which the collector corrects the reports' times of a device whose
 * clock is off (collector/ingest/client-clock.ts).
 */
export const reportBatchSchema = z.object({ reports: z.array(reportSchema).min(1).max(LIMITS.reportsPerBatch), sentAt: z.number().finite().optional() });

/** One client report. */
export type Report = z.infer<typeof reportSchema>;
/** Shadow agreement of a report. */
export type ShadowReport = z.infer<typeof shadowReportSchema>;
/** A batch of reports. */
export type ReportBatch = z.infer<typeof reportBatchSchema>;
