import { Hono } from "hono";
import { z } from "zod";
import { type ErrorCode, isDriftlineError } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import { modelNameSchema } from "../../protocol/schema/common.ts";
import { parse } from "../../protocol/schema/parse.ts";
import { type Report, reportBatchSchema, reportSchema } from "../../protocol/schema/report.ts";
import { appIdSchema, appQuerySchema } from "../api-schemas.ts";
import { requireRole } from "../auth.ts";
import { type Db, openDb } from "../db/client.ts";
import { type RolloutWithRecent, cachedRollout } from "../db/rollouts.ts";
import type { AppEnv, Caller } from "../env.ts";
import { ApiError } from "../errors.ts";
import { requestNetwork } from "../http/client-ip.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { assignmentHint } from "../rollout/assignment-hint.ts";
import type { IngestOutcome } from "../ingest/model-aggregator.ts";
import { type AttributedReport, senderId } from "../aggregates/sender-tally.ts";
import { rolloutGraceMs, shardCount } from "../config.ts";
import { aggregator, flushModel, shardOf } from "../ingest/routing.ts";
import { onCollectorClock } from "../ingest/client-clock.ts";
import { accessModel, cachedModels } from "../registry/model-access.ts";
import { assignableVersions, notAssigned } from "../rollout/assignable.ts";
import { jsonBody, validate } from "../validate.ts";
import { documented } from "../openapi.ts";

const modelQuerySchema = z.object({ model: modelNameSchema, app: appIdSchema.optional() });

/** The batch envelope; each report is checked on its own so one bad report does not sink the rest. */
const batchSchema = z.object({ reports: z.array(z.unknown()).min(1).max(LIMITS.reportsPerBatch), sentAt: z.number().finite().optional() });

/** A refused report; `id` is null when the report had no readable id. */
type Rejection = { id: string | null; status: "rejected"; code: ErrorCode; message: string };

/** The answer of `POST /v1/reports`. */
const ingestAnswerSchema = z.object({
  accepted: z.array(z.string()),
  duplicates: z.array(z.string()),
  rejected: z.array(z.object({ id: z.string().nullable(), code: z.string(), message: z.string() })),
  assignment: z
    .object({
      model: z.string(),
      client: z.string(),
      version: z.number(),
      role: z.enum(["stable", "canary"]),
      configVersion: z.number(),
      sampleRate: z.number(),
      shadow: z.object({ version: z.number(), sampleRate: z.number() }).optional(),
    })
    .nullable(),
});

/** The answer of `GET /v1/reports/stats`: each shard's counters (collector/ingest/model-aggregator.ts `AggregatorStats`) and their sum. */
const ingestStatsSchema = z.object({
  model: z.string(),
  shards: z.array(z.object({ object: z.string(), quarantined: z.record(z.string(), z.number()) }).catchall(z.number())),
  total: z.record(z.string(), z.number()),
});

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

/** A batch's reports of one aggregator object: the model's key, the shard and its reports. */
interface Group {
  model: string;
  shard: number;
  reports: AttributedReport[];
}

/** Reports grouped by aggregator object, the rollout of each model (by key) reported for, and whose assignment the answer carries. */
interface Routed {
  groups: Map<string, Group>;
  rollouts: Map<string, RolloutWithRecent>;
  /** The model key and client of the first report of a model the caller may see. */
  hint: { model: string; client: string } | undefined;
}

/**
 * Reports of models of the caller's app and of versions their clients may run, grouped by
 * aggregator object, each carrying its model's key instead of the name from here on (the
 * aggregator treats the model as an opaque string); reports of models the caller cannot see are
 * refused as `not_found`, of versions the rollout does not give their client as `not_assigned`.
 * Each report is attributed to its sender: the network the request came from, else (no address
 * known: not through Cloudflare or `wrangler dev`) its client id.
 */
async function route(db: Db, env: Env, caller: Caller, app: string | undefined, reports: Report[], rejected: Rejection[], network: string | null): Promise<Routed> {
  const shards = shardCount(env);
  const groups = new Map<string, Group>();
  const rollouts: Routed["rollouts"] = new Map();
  let hint: Routed["hint"];
  // the names in one lookup: a batch may name 100 models, made up or not
  const found = await cachedModels(db, caller, [...new Set(reports.map((r) => r.model))], app);
  const keys = new Map<string, string | ApiError>();
  for (const [name, model] of found) {
    const key = model instanceof ApiError ? model : model.id;
    keys.set(name, key);
    if (!(key instanceof ApiError)) rollouts.set(key, await cachedRollout(db, key, rolloutGraceMs(env)));
  }
  for (const r of reports) {
    const key = keys.get(r.model)!;
    const rollout = key instanceof ApiError ? undefined : rollouts.get(key);
    const unassigned = rollout && notAssigned(r, assignableVersions(r.client, key as string, rollout.current ? [rollout.current, ...rollout.recent] : rollout.recent));
    if (!(key instanceof ApiError)) hint ??= { model: key, client: r.client };
    if (key instanceof ApiError) rejected.push({ id: r.id, status: "rejected", code: key.code, message: key.message });
    else if (unassigned) rejected.push({ id: r.id, status: "rejected", code: "not_assigned", message: unassigned });
    else {
      const shard = shardOf(r.client, shards);
      const object = `${key}:${shard}`;
      let group = groups.get(object);
      if (!group) groups.set(object, (group = { model: key, shard, reports: [] }));
      group.reports.push({ ...r, model: key, sender: senderId(network ?? `client:${r.client}`) });
    }
  }
  return { groups, rollouts, hint };
}

/**
 * `POST /v1/reports` (ingest): a batch of client reports. Each report is checked on its own —
 * wire schema, model of the key's app, a version its client may run (`not_assigned`, see
 * collector/rollout/assignable.ts), features and sketch parameters of its manifest
 * — and deduplicated by id; the answer lists accepted, duplicate and rejected ids (with codes)
 * and the client's current assignment, so every report is also an update check. A body that is
 * not a batch is a 400, one over the batch limit a 413 (by its Content-Length, before the key is
 * checked or the body read); too many requests from one address or key a 429 (docs/security.md). Pages going away send the batch with
 * `navigator.sendBeacon`: then the key may come as `?key=` and the body as `text/plain`.
 */
export const reports = new Hono<AppEnv>()
  // cheap checks first: content type and declared length, then the key and its limit, then the body
  .post(
    "/",
    documented(
      "Ingests a batch of reports",
      { 200: { description: "what became of each report, and the client's assignment", schema: ingestAnswerSchema } },
      { description: "a batch of reports (JSON, or JSON text as text/plain from sendBeacon), and the client's clock when it sent them", schema: reportBatchSchema },
    ),
    jsonBody(LIMITS.batchBytes, { textPlain: true }),
    requireRole("ingest", { queryKey: true }),
    limitIngestKey,
    validate("query", appQuerySchema),
    async (c) => {
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
      const dated = onCollectorClock(valid, batch.sentAt, Date.now());
      const { groups, rollouts, hint } = await route(db, c.env, c.var.caller, c.req.valid("query").app, dated, rejected, requestNetwork(c.req.raw.headers));
      let outcomes: IngestOutcome[][];
      try {
        outcomes = await Promise.all([...groups.values()].map((g) => aggregator(c.env, g.model, g.shard).ingest(g.model, g.shard, g.reports)));
      } catch (err) {
        // nothing is acknowledged that was not stored; the client retries the batch (ids dedupe it)
        console.error("ingest failed", err);
        throw new ApiError(503, "unavailable", "ingest is unavailable; retry the batch (report ids make retries safe)");
      }
      const all = outcomes.flat();
      // also when the first report was refused as not assigned: the answer tells the client what to run
      const assignment = hint ? assignmentHint(rollouts.get(hint.model)?.current, hint.model, hint.client) : null;
      return c.json({
        accepted: all.filter((o) => o.status === "accepted").map((o) => o.id),
        duplicates: all.filter((o) => o.status === "duplicate").map((o) => o.id),
        rejected: [...rejected, ...all.flatMap((o) => (o.status === "rejected" ? [o] : []))].map(({ id, code, message }) => ({ id, code, message })),
        assignment,
      });
    },
  )
  /** `POST /v1/reports/flush?model=` (admin): writes every shard's pending aggregates to D1 now. */
  .post(
    "/flush",
    documented("Writes every shard's pending aggregates to D1 now", { 200: { description: "flushed", schema: z.object({ model: z.string(), flushed: z.literal(true) }) } }),
    requireRole("admin"),
    validate("query", modelQuerySchema),
    async (c) => {
      const { model: name, app } = c.req.valid("query");
      const model = await accessModel(openDb(c.env), c.var.caller, name, app);
      try {
        await flushModel(c.env, model.id);
      } catch (err) {
        console.error("flush failed", err);
        throw new ApiError(503, "unavailable", "flush failed; the reports stay pending and the next flush retries them");
      }
      return c.json({ model: model.name, flushed: true });
    },
  )
  /**
   * `GET /v1/reports/stats?model=` (read): ingest counters of every shard (accepted,
   * duplicates, rejected, pending, flushes, D1 rows and aggregate bytes written, report ids kept
   * and let go early) and their sum.
   */
  .get(
    "/stats",
    documented("Ingest counters of every shard and their sum", { 200: { description: "the counters", schema: ingestStatsSchema } }),
    requireRole("read"),
    validate("query", modelQuerySchema),
    async (c) => {
      const { model: name, app } = c.req.valid("query");
      const model = await accessModel(openDb(c.env), c.var.caller, name, app);
      const shards = await Promise.all(Array.from({ length: shardCount(c.env) }, (_, s) => aggregator(c.env, model.id, s).stats()));
      const total = { accepted: 0, duplicates: 0, rejected: 0, pending: 0, flushes: 0, upserts: 0, rowsWritten: 0, bytesWritten: 0, flushMs: 0, idsKept: 0, idsEvicted: 0 };
      for (const s of shards) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
      const rowsPerReport = total.accepted > 0 ? total.rowsWritten / total.accepted : 0;
      return c.json({ model: model.name, shards, total: { ...total, rowsPerReport } });
    },
  );
