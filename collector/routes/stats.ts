import type { Performance, StatsAnswer } from "../../protocol/api.ts";
import { Hono } from "hono";
import { quantile } from "../../protocol/sketch/index.ts";
import { errorRate, latencyP95 } from "../alerts/conditions.ts";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import type { AppEnv } from "../env.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { readWindow } from "../aggregates/store.ts";
import { resolveWindowQuery, windowQuerySchema } from "./window-query.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";

/**
 * Model quality from labels joined on the devices (`feedback()`): accuracy and per-class
 * recall from the confusion matrix, or residual quantiles for regression; null without labels.
 *
 * @param a - the merged aggregate
 */
function performance(a: Aggregate): Performance | null {
  const m = a.confusion;
  if (m) {
    const k = m.labels.length;
    let total = 0;
    let correct = 0;
    const recall: Record<string, number | null> = {};
    m.labels.forEach((label, actual) => {
      let row = 0;
      for (let predicted = 0; predicted < k; predicted++) row += m.count(actual, predicted);
      total += row;
      correct += m.count(actual, actual);
      recall[label] = row > 0 ? m.count(actual, actual) / row : null;
    });
    return total > 0 ? { labelled: total, accuracy: correct / total, recall } : null;
  }
  const r = a.residual;
  if (r && r.count > 0) {
    const q = (p: number) => quantile(r.quantiles, p);
    return { labelled: r.count, residual_mean: r.mean, residual_p05: q(0.05), residual_p50: q(0.5), residual_p95: q(0.95) };
  }
  return null;
}

/**
 * `GET /v1/stats?model=&version=&from=&to=&window=&segment=&role=` (read): traffic, errors by
 * code, error rate, latency quantiles per backend, performance from on-device labels and
 * shadow agreement (per shadow version) of
 * one version over a range, in one segment — the same windows and segments as `GET /v1/drift`.
 */
export const stats = new Hono<AppEnv>().get("/", requireRole("read"), validate("query", windowQuerySchema), async (c) => {
  const db = openDb(c.env);
  const q = await resolveWindowQuery(db, c.var.caller, c.req.valid("query"));
  const read = await readWindow(c.env, db, { ...q, versions: [q.version] }, ["errors", "latency", "confusion", "residual", "shadow"]);
  const a = read.byVersion.get(q.version) ?? new Aggregate();
  const latency = Object.fromEntries(
    [...(a.latency?.backends ?? [])].map(([backend, s]) => [backend, { count: s.n, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95), p99: quantile(s, 0.99) }]),
  );
  const p95 = latencyP95(a);
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
    performance: performance(a),
    shadow: Object.fromEntries([...a.shadow].map(([v, s]) => [v, { rows: s.rows, agree: s.agree, agreement: s.rows > 0 ? s.agree / s.rows : null }])),
    skipped: read.skipped,
  } satisfies StatsAnswer);
});
