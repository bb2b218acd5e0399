import { Hono } from "hono";
import { z } from "zod";
import { type ErrorCode, isDriftlineError } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { parse } from "../../protocol/schema/parse.ts";
import { type Report, reportSchema } from "../../protocol/schema/report.ts";
import { type Caller, canAccessApp, requireRole } from "../auth.ts";
import { type Db, openDb } from "../db/client.ts";
import { findModel } from "../db/models.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { assignmentHint } from "../ingest/assignment-hint.ts";
import type { IngestOutcome } from "../ingest/model-aggregator.ts";
import { aggregator, flushModel, shardCount, shardOf } from "../ingest/routing.ts";
import { accessModel } from "../registry/model-access.ts";
import { jsonBody, validate } from "../validate.ts";

const modelQuerySchema = z.object({ model: modelNameSchema });

/** The batch envelope; each report is checked on its own so one bad report does not sink the rest. */
const batchSchema = z.object({ reports: z.array(z.unknown()).min(1).max(LIMITS.reportsPerBatch) });

/** A refused report; `id` is null when the report had no readable id. */
type Rejection = { id: string | null; status: "rejected"; code: ErrorCode; message: string };

/** A model's owning app, cached: a model never changes app. */
const modelApps = new Map<string, string>();

async function modelApp(db: Db, name: string): Promise<string | undefined> {
  const cached = modelApps.get(name);
  if (cached !== undefined) return cached;
  const row = await findModel(db, name);
  if (row) modelApps.set(name, row.app);
  return row?.app;
}

function rawId(raw: unknown): string | null {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" ? id.slice(0, LIMITS.reportIdLength) : null;
}

/** Reports that passed the wire schema, and those that did not. */
function checkEach(raws: unknown[]): { valid: Report[]; rejected: Rejection[] } {
  const valid: Report[] = [];
  const rejected: Rejection[] = [];
  raws.forEach((raw, i) => {
    try {
      valid.push(parse(reportSchema, raw, `reports.${i}`));
    } catch (err) {
      if (!isDriftlineError(err)) throw err;
      rejected.push({ id: rawId(raw), status: "rejected", code: err.code, message: err.message });
    }
  });
  return { valid, rejected };
}

/** Reports of models the caller may report for, grouped by aggregator object; the others refused. */
async function route(db: Db, env: Env, caller: Caller, reports: Report[], rejected: Rejection[]): Promise<Map<string, { model: string; shard: number; reports: Report[] }>> {
  const shards = shardCount(env);
  const groups = new Map<string, { model: string; shard: number; reports: Report[] }>();
  const apps = new Map<string, string | undefined>();
  for (const name of new Set(reports.map((r) => r.model))) apps.set(name, await modelApp(db, name));
  for (const r of reports) {
    const app = apps.get(r.model);
    if (app === undefined) rejected.push({ id: r.id, status: "rejected", code: "not_found", message: `no model "${r.model}"` });
    else if (!canAccessApp(caller, app)) rejected.push({ id: r.id, status: "rejected", code: "forbidden", message: `model "${r.model}" belongs to another app` });
    else {
      const shard = shardOf(r.client, shards);
      const key = `${r.model}:${shard}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { model: r.model, shard, reports: [] }));
      group.reports.push(r);
    }
  }
  return groups;
}

/**
 * `POST /v1/reports` (ingest): a batch of client reports. Each report is checked on its own —
 * wire schema, model of the key's app, version, features and sketch parameters of its manifest
 * — and deduplicated by id; the answer lists accepted, duplicate and rejected ids (with codes)
 * and the client's current assignment, so every report is also an update check. A body that is
 * not a batch is a 400, one over the batch limit a 413 (by its Content-Length, before the key is
 * checked or the body read); too many requests from one address or key a 429 (docs/security.md). Pages going away send the batch with
 * `navigator.sendBeacon`: then the key may come as `?key=` and the body as `text/plain`.
 */
export const reports = new Hono<AppEnv>()
  // cheap checks first: content type and declared length, then the key and its limit, then the body
  .post("/", jsonBody(LIMITS.batchBytes, { textPlain: true }), requireRole("ingest", { queryKey: true }), limitIngestKey, async (c) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError(400, "validation", "body is not valid JSON");
  }
  let batch: z.infer<typeof batchSchema>;
  try {
    batch = parse(batchSchema, body, "batch");
  } catch (err) {
    if (isDriftlineError(err)) throw new ApiError(400, err.code, err.message);
    throw err;
  }
  const { valid, rejected } = checkEach(batch.reports);
  const db = openDb(c.env);
  const groups = await route(db, c.env, c.var.caller, valid, rejected);
  let outcomes: IngestOutcome[][];
  try {
    outcomes = await Promise.all([...groups.values()].map((g) => aggregator(c.env, g.model, g.shard).ingest(g.model, g.shard, g.reports)));
  } catch (err) {
    // nothing is acknowledged that was not stored; the client retries the batch (ids dedupe it)
    console.error("ingest failed", err);
    throw new ApiError(503, "unavailable", "ingest is unavailable; retry the batch (report ids make retries safe)");
  }
  const all = outcomes.flat();
  const first = [...groups.values()][0]?.reports[0];
  const assignment = first ? await assignmentHint(db, first.model, first.client) : null;
  return c.json({
    accepted: all.filter((o) => o.status === "accepted").map((o) => o.id),
    duplicates: all.filter((o) => o.status === "duplicate").map((o) => o.id),
    rejected: [...rejected, ...all.flatMap((o) => (o.status === "rejected" ? [o] : []))].map(({ id, code, message }) => ({ id, code, message })),
    assignment,
  });
})
  /** `POST /v1/reports/flush?model=` (admin): writes every shard's pending aggregates to D1 now. */
  .post("/flush", requireRole("admin"), validate("query", modelQuerySchema), async (c) => {
    const model = await accessModel(openDb(c.env), c.var.caller, c.req.valid("query").model);
    try {
      await flushModel(c.env, model.name);
    } catch (err) {
      console.error("flush failed", err);
      throw new ApiError(503, "unavailable", "flush failed; the reports stay pending and the next flush retries them");
    }
    return c.json({ model: model.name, flushed: true });
  })
  /**
   * `GET /v1/reports/stats?model=` (read): ingest counters of every shard (accepted,
   * duplicates, rejected, pending, flushes, D1 rows written) and their sum.
   */
  .get("/stats", requireRole("read"), validate("query", modelQuerySchema), async (c) => {
    const model = await accessModel(openDb(c.env), c.var.caller, c.req.valid("query").model);
    const shards = await Promise.all(Array.from({ length: shardCount(c.env) }, (_, s) => aggregator(c.env, model.name, s).stats()));
    const total = { accepted: 0, duplicates: 0, rejected: 0, pending: 0, flushes: 0, upserts: 0, rowsWritten: 0 };
    for (const s of shards) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
    const rowsPerReport = total.accepted > 0 ? total.rowsWritten / total.accepted : 0;
    return c.json({ model: model.name, shards, total: { ...total, rowsPerReport } });
  });
