import { type StatsAnswer, type StatsSeriesAnswer, type StatsWindow, statsAnswerSchema, statsSeriesAnswerSchema } from "../../protocol/api.ts";
import type { BaselinePerformance } from "../../protocol/schema/profile.ts";
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
import { resolveWindowQuery, seriesQuerySchema, seriesWindows, windowQuerySchema } from "./window-query.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

/** One window's traffic, errors, latency per backend and performance, with and without labels. */
function windowFigures(a: Aggregate, baseline: BaselinePerformance | null): Omit<StatsWindow, "from" | "to" | "skipped"> {
  const latency = Object.fromEntries(
    [...(a.latency?.backends ?? [])].map(([backend, s]) => [backend, { count: s.n, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95), p99: quantile(s, 0.99) }]),
  );
  const p95 = latencyP95(a);
  return {
    reports: a.reports,
    rows: a.rows,
    errors: Object.fromEntries(a.errors?.counts ?? []),
    error_rate: errorRate(a),
    latency_p95_ms: Number.isNaN(p95) ? null : p95,
    latency,
    performance: livePerformance(a),
    estimated: estimatedPerformance(a, baseline),
  };
}

/** The sketches the stats read. */
const STATS_PARTS = ["prediction", "errors", "latency", "confusion", "residual", "shadow"] as const;

/**
 * `GET /v1/stats?model=&version=&from=&to=&window=&segment=&role=` (read): traffic, errors by
 * code, error rate, latency quantiles per backend, performance from on-device labels and estimated
 * without them beside the baseline the profile recorded on the reference data, and shadow agreement (per shadow version) of
 * one version over a range, in one segment — the same windows and segments as `GET /v1/drift` —
 * and the model's objectives against it with their error budget (collector/alerts/slo-report.ts).
 * `GET /v1/stats/series?…&step=` (read): traffic, errors, latency and performance in each window
 * of `step` ms from `from` to `to` (at most 40), one window after the other: the dashboard's
 * latency charts in one request.
 */
export const stats = new Hono<AppEnv>()
  .get(
    "/",
    documented("Reports, rows, errors, latency, performance and shadow agreement over a range", { 200: { description: "the stats", schema: statsAnswerSchema } }),
    requireRole("read"),
    validate("query", windowQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const q = await resolveWindowQuery(db, c.var.caller, c.req.valid("query"));
      const read = await readWindow(c.env, db, { ...q, versions: [q.version] }, STATS_PARTS);
      const a = read.byVersion.get(q.version) ?? new Aggregate();
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
        ...windowFigures(a, baseline),
        baseline,
        shadow: Object.fromEntries(
          [...a.shadow].map(([v, s]) => [v, { rows: s.rows, agree: s.agree, agreement: s.rows > 0 ? s.agree / s.rows : null, agreement_range: agreementRange(s, a.shadowers.heaviest()) }]),
        ),
        slo,
        skipped: read.skipped,
      } satisfies StatsAnswer);
    },
  )
  .get(
    "/series",
    documented("Reports, rows, errors, latency and performance in each window of a range, oldest first", { 200: { description: "the stats per window", schema: statsSeriesAnswerSchema } }),
    requireRole("read"),
    validate("query", seriesQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const query = c.req.valid("query");
      const q = await resolveWindowQuery(db, c.var.caller, query);
      const baseline = (await loadReference(c.env, db, q.model, q.version))?.reference.performance ?? null;
      // window by window: only one window's stored rows and aggregate are in memory at a time
      const windows = [];
      for (const w of seriesWindows(q, query.step)) {
        const read = await readWindow(c.env, db, { ...q, ...w, versions: [q.version] }, STATS_PARTS);
        windows.push({ from: iso(read.from), to: iso(read.to), ...windowFigures(read.byVersion.get(q.version) ?? new Aggregate(), baseline), skipped: read.skipped });
      }
      return c.json({ model: q.name, version: q.version, role: q.role, segment: q.segment, baseline, windows } satisfies StatsSeriesAnswer);
    },
  );
