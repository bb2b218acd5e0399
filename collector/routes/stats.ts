import { type StatsAnswer, statsAnswerSchema } from "../../protocol/api.ts";
import { Hono } from "hono";
import { agreementRange } from "../aggregates/shadow-agreement.ts";
import { quantile } from "../../protocol/sketch/index.ts";
import { listAlertConfigs } from "../alerts/config.ts";
import { sloAnswer } from "../alerts/slo-report.ts";
import { errorRate, latencyP95 } from "../alerts/slo.ts";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import type { AppEnv } from "../env.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { estimatedPerformance, livePerformance } from "../aggregates/performance.ts";
import { loadReference } from "../drift/stored-reference.ts";
import { readWindow } from "../aggregates/store.ts";
import { resolveWindowQuery, windowQuerySchema } from "./window-query.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

/**
 * `GET /v1/stats?model=&version=&from=&to=&window=&segment=&role=` (read): traffic, errors by
 * code, error rate, latency quantiles per backend, performance from on-device labels and estimated
 * without them beside the baseline the profile recorded on the reference data, and shadow agreement (per shadow version) of
 * one version over a range, in one segment — the same windows and segments as `GET /v1/drift` —
 * and the model's objectives against it with their error budget (collector/alerts/slo-report.ts).
 */
export const stats = new Hono<AppEnv>().get(
  "/",
  documented("Reports, rows, errors, latency, performance and shadow agreement over a range", { 200: { description: "the stats", schema: statsAnswerSchema } }),
  requireRole("read"),
  validate("query", windowQuerySchema),
  async (c) => {
    const db = openDb(c.env);
    const q = await resolveWindowQuery(db, c.var.caller, c.req.valid("query"));
    const read = await readWindow(c.env, db, { ...q, versions: [q.version] }, ["prediction", "errors", "latency", "confusion", "residual", "shadow"]);
    const a = read.byVersion.get(q.version) ?? new Aggregate();
    const latency = Object.fromEntries(
      [...(a.latency?.backends ?? [])].map(([backend, s]) => [backend, { count: s.n, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95), p99: quantile(s, 0.99) }]),
    );
    const p95 = latencyP95(a);
    const baseline = (await loadReference(c.env, db, q.model, q.version))?.reference.performance ?? null;
    const [config] = await listAlertConfigs(db, q.model);
    const slo = await sloAnswer(c.env, db, config, q, { from: read.from, to: read.to, aggregate: a });
    return c.json({
      model: q.name,
      version: q.version,
      role: q.role,
      segment: q.segment,
      from: iso(read.from),
      to: iso(read.to),
      reports: a.reports,
      rows: a.rows,
      errors: Object.fromEntries(a.errors?.counts ?? []),
      error_rate: errorRate(a),
      latency_p95_ms: Number.isNaN(p95) ? null : p95,
      latency,
      performance: livePerformance(a),
      estimated: estimatedPerformance(a, baseline),
      baseline,
      shadow: Object.fromEntries(
        [...a.shadow].map(([v, s]) => [v, { rows: s.rows, agree: s.agree, agreement: s.rows > 0 ? s.agree / s.rows : null, agreement_range: agreementRange(s, a.shadowers.heaviest()) }]),
      ),
      slo,
      skipped: read.skipped,
    } satisfies StatsAnswer);
  },
);
