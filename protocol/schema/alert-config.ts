import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { nameSchema, rateSchema } from "./common.ts";

/** Most evaluations an alert condition is confirmed over (`confirm.m`): an hour of cron runs. */
export const MAX_CONFIRM_EVALUATIONS = 60;

/** Every feature, in `featureDrift`. */
export const ALL_FEATURES = "*";

/** Longest error-budget period of the objectives, in days. */
export const MAX_SLO_PERIOD_DAYS = 365;

/** `PUT /v1/models/:model/alerts`: where to post and what to watch (a field left out is not watched); docs/ingest.md "Alerts". */
export const alertConfigSchema = z.strictObject({
  /** Receives `{ text, alert }` (Slack-compatible `text`) on every state change; without one, alerts are only recorded. */
  webhook: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  /** Fires when the share of drifted features reaches this. */
  datasetDrift: rateSchema.optional(),
  /** Features whose drift verdict fires an alert each; `["*"]` for all. */
  featureDrift: z.array(nameSchema).min(1).max(LIMITS.features).optional(),
  /** Objective: errors / (rows + errors) stays below this; fires when it reaches it. */
  errorRate: rateSchema.optional(),
  /** Objective: the p95 latency of every backend and of every device class stays within this many milliseconds; fires for each one past it. */
  latencyP95Ms: z.number().positive().max(3_600_000).optional(),
  /** Objective: the p99 latency of every backend and of every device class stays within this many milliseconds. */
  latencyP99Ms: z.number().positive().max(3_600_000).optional(),
  /** Objective: the fleet serves at least this many predictions per second over the window. */
  throughputFleet: z.number().positive().max(1e9).optional(),
  /** Objective: one client sustains at least this many predictions per second (rows per call × 1000 / mean call latency). */
  throughputClient: z.number().positive().max(1e9).optional(),
  /** Days over which the error budget of the objectives is counted. @defaultValue 30 */
  sloPeriodDays: z.int().min(1).max(MAX_SLO_PERIOD_DAYS).default(30),
  /** Fires when accuracy from on-device labels falls more than this below the profile's baseline accuracy. */
  accuracyDrop: rateSchema.optional(),
  /**
   * Fires when the accuracy estimated without labels (protocol/performance-estimate.ts) falls more
   * than this below the profile's baseline accuracy; needs a profile made with `--target`.
   */
  estimatedAccuracyDrop: rateSchema.optional(),
  /** Fires when the mean absolute residual from on-device labels exceeds the profile's baseline MAE by more than this share (0.2: 20 % worse). */
  maeIncrease: z.number().positive().max(1000).optional(),
  /** Labelled rows a window needs before `accuracyDrop` or `maeIncrease` is judged. @defaultValue 100 */
  minLabelled: z.int().min(1).max(1e9).default(100),
  /** Length of the trailing window each evaluation judges, in minutes. @defaultValue 60 */
  windowMinutes: z.int().min(1).max(1440).default(60),
  /** Rows a window needs before it is judged at all. @defaultValue 100 */
  minRows: z.int().min(1).max(1e9).default(100),
  /** Roll a canary back when any watched condition fires on it. @defaultValue true */
  autoRollback: z.boolean().default(true),
  /**
   * Fire when a condition held in `k` of the last `m` evaluations (one a minute), resolve when it
   * holds in fewer. @defaultValue { k: 1, m: 1 }: fire and resolve on every evaluation's verdict
   */
  confirm: z
    .strictObject({ k: z.int().min(1).max(MAX_CONFIRM_EVALUATIONS), m: z.int().min(1).max(MAX_CONFIRM_EVALUATIONS) })
    .refine((c) => c.k <= c.m, "confirm.k must be at most confirm.m")
    .default({ k: 1, m: 1 }),
});

/** An alert configuration, its defaults filled in. */
export type AlertConfig = z.infer<typeof alertConfigSchema>;

/** `GET /v1/models/:model/alerts` (and the answer of `PUT`): the configuration with its defaults, `webhook` masked for read keys and null when none is set (then nothing else is set either, when the model has no configuration). */
export const alertConfigAnswerSchema = z.object({ ...alertConfigSchema.partial().shape, model: z.string(), webhook: z.string().nullable() });
/** A model's alert configuration as answered. */
export type AlertConfigAnswer = z.infer<typeof alertConfigAnswerSchema>;
