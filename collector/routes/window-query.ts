import { z } from "zod";
import { SERIES_WINDOWS, queryTime } from "../../protocol/api.ts";
import { modelNameSchema, versionSchema } from "../../protocol/schema/common.ts";
import { appIdSchema } from "../api-schemas.ts";
import type { Caller } from "../env.ts";
import type { Db } from "../db/client.ts";
import { servingVersion } from "../db/rollouts.ts";
import { findVersion } from "../db/versions.ts";
import { ApiError } from "../errors.ts";
import { accessModel } from "../registry/model-access.ts";
import { parseSegment } from "../aggregates/segments.ts";
import { GRANULARITIES, type WindowQuery } from "../aggregates/windows.ts";

/** Default range of a window query: the last hour. */
const DEFAULT_RANGE_MS = 3_600_000;

/** A time: epoch milliseconds or an ISO 8601 date-time, from 1970 to 9999 (query parameters `from`, `to`: protocol's `queryTime`). */
export const timeSchema = z.string().transform((text, ctx) => {
  const ms = queryTime(text);
  if (ms !== undefined) return ms;
  ctx.addIssue({ code: "custom", message: "expected epoch milliseconds or an ISO 8601 date-time between 1970 and 9999" });
  return z.NEVER;
});

/** A segment filter, `key:value,key:value`, as its canonical form. */
const segmentSchema = z
  .string()
  .max(2048)
  .transform((text, ctx) => {
    try {
      return parseSegment(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

/** `?model=&version=&from=&to=&window=&segment=&role=` of the routes that read aggregates. */
export const windowQuerySchema = z.object({
  model: modelNameSchema,
  app: appIdSchema.optional(),
  version: z.coerce.number().pipe(versionSchema).optional(),
  role: z.enum(["live", "shadow"]).default("live"),
  from: timeSchema.optional(),
  to: timeSchema.optional(),
  window: z.enum(GRANULARITIES).optional(),
  segment: segmentSchema.default(""),
});

/** A parsed window query. */
export type WindowQueryInput = z.infer<typeof windowQuerySchema>;

/**
 * Fills in a window query: the model must be the caller's (404 otherwise, see {@link accessModel})
 * and a version named one it has (404); the version defaults to the stable one (else the latest),
 * the range to the last hour; `from` must be before `to`.
 *
 * @param db - drizzle handle
 * @param caller - the authenticated caller
 * @param q - the parsed query
 * @returns the query, and the model's name (what answers call it)
 */
export async function resolveWindowQuery(db: Db, caller: Caller, q: WindowQueryInput): Promise<WindowQuery & { name: string }> {
  const model = await accessModel(db, caller, q.model, q.app);
  // a version the model never had is a mistake, not a window without traffic
  if (q.version !== undefined && !(await findVersion(db, model.id, q.version))) throw new ApiError(404, "not_found", `model "${model.name}" has no version ${q.version}`);
  const version = q.version ?? (await servingVersion(db, model.id));
  const to = q.to ?? Date.now();
  const from = q.from ?? to - DEFAULT_RANGE_MS;
  if (!(from < to)) throw new ApiError(400, "validation", "from: must be before to");
  return { model: model.id, name: model.name, version, role: q.role, from, to, segment: q.segment, window: q.window };
}

/** The query of a series: a window query and `step`, each window's length in milliseconds (1 minute to 1 day). */
export const seriesQuerySchema = windowQuerySchema.extend({ step: z.coerce.number().int().min(60_000).max(86_400_000) });

/**
 * The windows of `step` ms from `from` to `to` of a series, the last one ending at `to`; 400 past
 * {@link SERIES_WINDOWS}.
 *
 * @param q - the resolved range
 * @param step - each window's length
 */
export function seriesWindows(q: { from: number; to: number }, step: number): { from: number; to: number }[] {
  const count = Math.ceil((q.to - q.from) / step);
  if (count > SERIES_WINDOWS) throw new ApiError(400, "validation", `step: ${count} windows between from and to, at most ${SERIES_WINDOWS}`);
  return Array.from({ length: count }, (_, i) => ({ from: q.from + i * step, to: Math.min(q.to, q.from + (i + 1) * step) }));
}
