import { Hono } from "hono";
import { z } from "zod";
import { logWriteAnswerSchema } from "../../protocol/api.ts";
import { isDriftlineError } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import { modelNameSchema, versionSchema } from "../../protocol/schema/common.ts";
import { parse } from "../../protocol/schema/parse.ts";
import { type LogBatch, logBatchSchema } from "../../protocol/schema/prediction-log.ts";
import { appIdSchema, appQuerySchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { LOG_EXPORT_CAP_SETTING, logExportMaxObjects, rolloutGraceMs } from "../config.ts";
import { openDb } from "../db/client.ts";
import { cachedRollout, getRollout } from "../db/rollouts.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { checkLogBatch } from "../logs/check-batch.ts";
import { exportRows, planExport } from "../logs/export.ts";
import { modelPrefix } from "../logs/partition.ts";
import { firstKeptDay } from "../logs/retention.ts";
import { logBatchWritten, writeLogBatch } from "../logs/write.ts";
import { documented } from "../openapi.ts";
import { accessModel } from "../registry/model-access.ts";
import { assignableVersions } from "../rollout/assignable.ts";
import { DEFAULT_LOG_RETENTION_DAYS } from "../rollout/state.ts";
import { jsonBody, validate } from "../validate.ts";
import { timeSchema } from "./window-query.ts";

/**
 * The JSON of a body, refusing the key `__proto__` anywhere: zod's records leave it out of what
 * they parse, so a row carrying it would be stored other than it was sent.
 *
 * @param text - the body
 */
function parseBatchJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === "__proto__") throw new ApiError(400, "validation", "__proto__ is not a valid key");
      return value;
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "validation", "body is not valid JSON");
  }
}

/** Default export range: the last day. */
const DEFAULT_EXPORT_MS = 86_400_000;

const exportQuerySchema = z.object({
  model: modelNameSchema,
  app: appIdSchema.optional(),
  version: z.coerce.number().pipe(versionSchema).optional(),
  from: timeSchema.optional(),
  to: timeSchema.optional(),
  after: z.string().max(1024).optional(),
});

/**
 * `/v1/logs`: prediction logging for offline analysis (docs/privacy.md "Prediction logging").
 * `POST` (ingest key, same rate limits and origin rules as reports) writes a batch of sampled
 * raw rows to R2 when the model's rollout has a log rate; `GET` (read key) exports them as NDJSON.
 */
export const logs = new Hono<AppEnv>()
  .post(
    "/",
    documented(
      "Writes a batch of logged prediction rows (raw inputs, outputs, labels) to R2",
      { 200: { description: "what the batch wrote", schema: logWriteAnswerSchema } },
      { description: "sampled rows of one model and client, and labels of rows sent earlier", schema: logBatchSchema },
    ),
    // a page going away sends its logged rows with sendBeacon: the key as ?key=, the batch as text/plain
    jsonBody(LIMITS.logBatchBytes, { textPlain: true }),
    requireRole("ingest", { queryKey: true }),
    limitIngestKey,
    validate("query", appQuerySchema),
    async (c) => {
      let batch: LogBatch;
      try {
        batch = parse(logBatchSchema, parseBatchJson(await c.req.text()), "batch");
      } catch (err) {
        if (isDriftlineError(err)) throw new ApiError(400, err.code, err.message);
        throw err;
      }
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, batch.model, c.req.valid("query").app);
      const { current, recent } = await cachedRollout(db, model.id, rolloutGraceMs(c.env));
      const answer = { rows: batch.rows.length, labels: batch.labels.length };
      try {
        if (!current?.logRate) throw new ApiError(403, "forbidden", `logging is off for model "${model.name}" (driftline rollout ${model.name} --log-rate R turns it on)`);
        await checkLogBatch(db, model.id, batch, assignableVersions(batch.client, model.id, [current, ...recent]).live, Date.now());
      } catch (err) {
        // written already (its answer lost; logging turned off or its rows aged since): refused now, its rows would be counted as dropped too
        if (await logBatchWritten(c.env.ARTIFACTS, model.id, batch).catch(() => false)) return c.json(answer);
        throw err;
      }
      await writeLogBatch(c.env.ARTIFACTS, model.id, batch);
      return c.json(answer);
    },
  )
  .get(
    "/",
    documented(
      `Exports logged rows as NDJSON (each row once, with its label when one was fed back), a page of at most ${LOG_EXPORT_CAP_SETTING} objects; headers Driftline-Dropped: rows devices dropped, Driftline-Next: the \`after\` of the next page (none on the last)`,
      {
        200: { description: "one logged row a line", media: "application/x-ndjson" },
      },
    ),
    requireRole("read"),
    validate("query", exportQuerySchema),
    async (c) => {
      const q = c.req.valid("query");
      const db = openDb(c.env);
      const model = await accessModel(db, c.var.caller, q.model, q.app);
      const now = Date.now();
      const to = q.to ?? now;
      const days = (await getRollout(db, model.id))?.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS;
      // rows past retention are gone on Cloudflare whenever the sweep or lifecycle rule ran: never show them
      const from = Math.max(q.from ?? to - DEFAULT_EXPORT_MS, Date.parse(firstKeptDay(now, days)));
      if (q.from !== undefined && q.from >= to) throw new ApiError(400, "validation", "from must be before to");
      const query = { model: model.id, version: q.version, from, to };
      if (q.after !== undefined && !q.after.startsWith(modelPrefix(model.id))) throw new ApiError(400, "validation", "after: not a Driftline-Next of this model's export");
      const plan = from < to ? await planExport(c.env.ARTIFACTS, query, logExportMaxObjects(c.env), q.after) : { partitions: [], dropped: 0 };
      const headers: Record<string, string> = { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store", "Driftline-Dropped": String(plan.dropped) };
      if (plan.next) headers["Driftline-Next"] = plan.next;
      return new Response(exportRows(c.env.ARTIFACTS, plan, query), { headers });
    },
  );
