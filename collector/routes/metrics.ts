import { Hono } from "hono";
import { type QuantileSketch, cdfPoints, quantile } from "../../protocol/sketch/index.ts";
import { requireRole } from "../auth.ts";
import { type Db, openDb } from "../db/client.ts";
import { listModels, type ModelRow } from "../db/models.ts";
import { computeDrift } from "../drift/drift-report.ts";
import { loadReference } from "../drift/stored-reference.ts";
import type { AppEnv } from "../env.ts";
import { closedUntil } from "../aggregates/windows.ts";
import { ingestTotals, readWindow } from "../aggregates/store.ts";
import { readTotals, uncountedObjects } from "../aggregates/totals.ts";
import { PROMETHEUS_CONTENT_TYPE, PrometheusText } from "./prometheus-text.ts";
import { documented } from "../openapi.ts";

/** Latency quantiles and drift scores cover this trailing span of closed minutes. */
const RECENT_MS = 3_600_000;
const QUANTILES = [0.5, 0.9, 0.95, 0.99];
const DRIFT_METRICS = ["ks", "ks_pvalue", "psi", "js", "wasserstein_normed", "chi2_pvalue", "unseen_share"] as const;

/** Estimated sum of a sketch's values (weight × retained value). */
function sketchSum(s: QuantileSketch): number {
  const { values, cdf } = cdfPoints(s);
  let sum = 0;
  let prev = 0;
  values.forEach((v, i) => {
    sum += v * (cdf[i]! - prev) * s.n;
    prev = cdf[i]!;
  });
  return sum;
}

/**
 * A sample writer for one model: every sample's labels start with the model's name and `app`
 * (two apps may each have a model of one name, and the bootstrap key sees both).
 */
function modelSamples(w: PrometheusText, m: ModelRow): PrometheusText["sample"] {
  return (family, type, help, labels, value, suffix) => w.sample(family, type, help, { model: m.name, app: m.app, ...labels }, value, suffix);
}

/**
 * All-time counters of one model. Its report, row and error totals come from `report_totals` (one
 * query: a roll-up or flush never shows half-way), and are left out rather than shown short while
 * some of its aggregator objects have rows stored before that table that the cron has not counted
 * yet (`countStoredTotals`).
 *
 * @param uncounted - the models with such objects
 */
async function writeTotals(w: PrometheusText, db: Db, m: ModelRow, uncounted: ReadonlySet<string>): Promise<void> {
  const [model, sample] = [m.name, modelSamples(w, m)];
  for (const t of uncounted.has(m.id) ? [] : await readTotals(db, m.id)) {
    const labels = { model, version: t.version, role: t.role };
    sample("driftline_reports_total", "counter", "Client reports accepted.", labels, t.reports);
    sample("driftline_rows_total", "counter", "Rows the clients predicted (before sampling).", labels, t.rows);
    for (const [code, n] of t.errors) sample("driftline_errors_total", "counter", "Client errors by code.", { ...labels, code }, n);
  }
  const ingest = await ingestTotals(db, m.id);
  sample("driftline_ingest_flushes_total", "counter", "Aggregator flushes to D1.", { model }, ingest.flushes);
  sample("driftline_ingest_d1_rows_written_total", "counter", "D1 rows written by aggregator flushes.", { model }, ingest.rowsWritten);
}

/** Latency summaries and drift scores of one model over the trailing hour. */
async function writeRecent(w: PrometheusText, env: Env, db: Db, m: ModelRow, now: number): Promise<void> {
  const [model, sample] = [m.name, modelSamples(w, m)];
  const to = closedUntil(env, now);
  const { byVersion, skipped } = await readWindow(env, db, { model: m.id, role: "live", segment: "", from: to - RECENT_MS, to }, ["features", "prediction", "latency"], now);
  sample("driftline_aggregates_skipped", "gauge", "Stored window rows of the last hour that could not be read (quarantined at the next flush).", {}, skipped);
  for (const [version, a] of byVersion) {
    for (const [backend, s] of a.latency?.backends ?? []) {
      const labels = { model, version, backend };
      const help = "Prediction latency in milliseconds over the last hour of closed minutes.";
      for (const q of QUANTILES) sample("driftline_latency_ms", "summary", help, { ...labels, quantile: q }, quantile(s, q));
      sample("driftline_latency_ms", "summary", help, labels, sketchSum(s), "_sum");
      sample("driftline_latency_ms", "summary", help, labels, s.n, "_count");
    }
    const ref = await loadReference(env, db, m.id, version);
    if (!ref) continue;
    const drift = computeDrift(ref.reference, a, ref.drift);
    for (const [feature, f] of Object.entries(drift.features)) {
      if (f.count === 0) continue;
      for (const metric of DRIFT_METRICS) {
        const value = f.metrics[metric];
        if (value !== undefined && value !== null) {
          sample("driftline_feature_drift", "gauge", "Drift metric of a feature against the reference, last hour.", { model, version, feature, metric }, value);
        }
      }
      sample("driftline_feature_drifted", "gauge", "1 when the feature's drift test says drift, last hour.", { model, version, feature, test: f.test }, f.drifted ? 1 : 0);
    }
    const p = drift.prediction;
    if (p && p.count > 0) {
      for (const metric of DRIFT_METRICS) {
        const value = p.metrics[metric];
        if (value !== undefined && value !== null) sample("driftline_prediction_drift", "gauge", "Drift metric of the prediction, last hour.", { model, version, metric }, value);
      }
    }
    sample("driftline_dataset_drift_share", "gauge", "Share of drifted features, last hour.", { model, version }, drift.dataset.drifted_share);
    sample("driftline_dataset_drifted", "gauge", "1 when the dataset drifts, last hour.", { model, version }, drift.dataset.drifted ? 1 : 0);
  }
}

/**
 * `GET /metrics` (read key as a Bearer token): Prometheus text format 0.0.4 for the caller's
 * app's models (labelled `model` and `app`) — all-time report, row and error counters; latency summaries and drift scores
 * per model, version and feature over the last hour of closed minutes; ingest flush counters.
 */
export const metrics = new Hono<AppEnv>().get(
  "/",
  documented("Prometheus metrics of the caller's models", { 200: { description: "Prometheus text exposition format 0.0.4", media: "text/plain" } }),
  requireRole("read"),
  async (c) => {
    const db = openDb(c.env);
    const caller = c.var.caller;
    const models = await listModels(db, caller.bootstrap ? undefined : (caller.app ?? undefined));
    const w = new PrometheusText();
    const now = Date.now();
    // one query for the scrape, not one per model
    const uncounted = new Set((await uncountedObjects(db)).map((o) => o.model));
    for (const m of models) {
      await writeTotals(w, db, m, uncounted);
      await writeRecent(w, c.env, db, m, now);
    }
    return c.body(w.render(), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Cache-Control": "no-store" });
  },
);
