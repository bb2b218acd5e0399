import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { segmentsAnswerSchema, segmentsResetSchema } from "../../protocol/api.ts";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { segmentKeySchema } from "../../protocol/schema/report.ts";
import { appIdSchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { segmentValues } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { accessModel } from "../registry/model-access.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

const segmentsQuery = z.object({ model: modelNameSchema, app: appIdSchema.optional() });
const resetQuery = segmentsQuery.extend({ key: segmentKeySchema.optional() });

/**
 * `GET /v1/segments?model=` (read): the segment keys of a model's reports and their admitted
 * values (`{ model, segments: { backend: ["wasm", "webgpu"], … } }`), what `?segment=` of
 * `/v1/drift` and `/v1/stats` can slice by. Values past the cardinality cap report as `other`;
 * frequent values displace rare ones (collector/ingest/segment-cap.ts), so the list changes.
 */
export const segments = new Hono<AppEnv>()
  .get(
    "/",
    documented("The admitted values of each segment key", { 200: { description: "values by key", schema: segmentsAnswerSchema } }),
    requireRole("read"),
    validate("query", segmentsQuery),
    async (c) => {
      const db = openDb(c.env);
      const { model: name, app } = c.req.valid("query");
      const model = await accessModel(db, c.var.caller, name, app);
      const rows = await db
        .select({ key: segmentValues.key, value: segmentValues.value })
        .from(segmentValues)
        .where(eq(segmentValues.model, model.id))
        .orderBy(asc(segmentValues.key), asc(segmentValues.value))
        .all();
      // a Map: keys are the senders' words, and `toString` is one (a plain object has it already)
      const byKey = new Map<string, string[]>();
      for (const { key, value } of rows) (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(value);
      return c.json({ model: model.name, segments: Object.fromEntries(byKey) });
    },
  )
  /**
   * `DELETE /v1/segments?model=&key=` (admin): forgets the admitted values of one segment key
   * (or of every key), e.g. after junk filled it. Aggregators read the admitted values again
   * within 2 s; later values are admitted afresh. Stored aggregates keep their slices.
   */
  .delete(
    "/",
    documented("Forgets the admitted values of one segment key, or of every key", {
      200: { description: "what was forgotten", schema: segmentsResetSchema },
    }),
    requireRole("admin"),
    validate("query", resetQuery),
    async (c) => {
      const db = openDb(c.env);
      const { model: name, app, key } = c.req.valid("query");
      const model = await accessModel(db, c.var.caller, name, app);
      const result = await db
        .delete(segmentValues)
        .where(and(eq(segmentValues.model, model.id), key === undefined ? undefined : eq(segmentValues.key, key)))
        .run();
      return c.json({ model: model.name, key: key ?? null, deleted: result.meta.changes });
    },
  );
