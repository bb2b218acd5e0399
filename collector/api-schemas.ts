import { z } from "zod";
import { LIMITS } from "../protocol/limits.ts";
import { normalizeOrigin } from "../protocol/origin.ts";
import { identifierSchema, modelNameSchema, rateSchema, versionSchema } from "../protocol/schema/common.ts";
import { manifestSchema } from "../protocol/schema/manifest.ts";
import { ROLES } from "./tokens.ts";

/**
 * Request shapes of the collector's registry API (keys, versions, rollout, assignment).
 * Bodies are strict: an unknown field is a 400, so a typo never passes silently.
 */

/** An app id: letters, digits, `.`, `_`, `-`; starts with a letter or digit; ≤ 64 chars. */
export const appIdSchema = identifierSchema("an app id");

/** Most origins one ingest key may name. */
export const MAX_KEY_ORIGINS = 32;

/** A web origin, `scheme://host[:port]`, normalised as browsers send it. */
const originSchema = z
  .string()
  .max(256)
  .transform((text, ctx) => {
    const origin = normalizeOrigin(text);
    if (origin === undefined) ctx.addIssue({ code: "custom", message: `"${text}" is not an origin: give scheme://host[:port]` });
    return origin ?? z.NEVER;
  });

/** `POST /v1/keys`; `origins` binds an ingest key to the pages of those origins. */
export const createKeySchema = z
  .strictObject({
    app: appIdSchema,
    role: z.enum(ROLES),
    label: z.string().min(1).max(128).optional(),
    origins: z.array(originSchema).min(1).max(MAX_KEY_ORIGINS).optional(),
  })
  .refine((key) => key.origins === undefined || key.role === "ingest", { path: ["origins"], message: "only ingest keys are bound to origins" });

/**
 * `?app=`: which app's resources (`GET /v1/keys`, `GET /v1/models`), or which app's model a
 * model route means — the bootstrap key belongs to no app and names one this way.
 */
export const appQuerySchema = z.object({ app: appIdSchema.optional() });

/** A model name in the path. */
export const modelParamSchema = z.object({ model: modelNameSchema });

/** `POST /v1/models/:model/versions`. */
export const publishSchema = z.strictObject({
  manifest: manifestSchema,
  /** The app a new model goes to; only the bootstrap key may name another than its own. */
  app: appIdSchema.optional(),
  /** Who publishes, e.g. a person or CI job; defaults to the key's label. */
  publisher: z.string().min(1).max(128).optional(),
});

/** A canary percent: 0–100 in steps of 0.01. */
export const percentSchema = z
  .number()
  .min(0)
  .max(100)
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, "percent has at most two decimals");

/** `PUT /v1/models/:model/rollout`: every field optional; `null` clears canary or shadow. */
export const rolloutChangeSchema = z
  .strictObject({
    stable: versionSchema.optional(),
    canary: z.strictObject({ version: versionSchema, percent: percentSchema }).nullable().optional(),
    shadow: z.strictObject({ version: versionSchema, sampleRate: rateSchema }).nullable().optional(),
    sampleRate: rateSchema.optional(),
    /** Share of rows apps that allow logging log raw; 0 turns logging off (docs/privacy.md). */
    logRate: z.number().min(0).max(1).optional(),
    /** Days logged rows are kept (collector/logs/retention.ts). */
    logRetentionDays: z.int().min(1).max(3650).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "give at least one of stable, canary, shadow, sampleRate, logRate, logRetentionDays");

/** `GET /v1/assignment?model=&client=`. */
export const assignmentQuerySchema = z.object({
  model: modelNameSchema,
  /** The bootstrap key's way to name the model's app (app keys: their own, or a 404). */
  app: appIdSchema.optional(),
  client: z.string().min(1).max(LIMITS.clientLength),
  /**
   * The config version the rollout channel pushed: the answer may come from the isolate's cache
   * of a rollout at least that new instead of D1 (1,000 pages told of a change at once ask at once).
   */
  config: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** A key of `POST /v1/keys`. */
export type CreateKey = z.infer<typeof createKeySchema>;
/** A body of `POST /v1/models/:model/versions`. */
export type PublishBody = z.infer<typeof publishSchema>;
/** A body of `PUT /v1/models/:model/rollout`. */
export type RolloutChange = z.infer<typeof rolloutChangeSchema>;
