import { type DriftAnswer, type DriftSeriesAnswer, driftAnswerSchema, driftSeriesAnswerSchema } from "../../protocol/api.ts";
import { Hono } from "hono";
import { z } from "zod";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { distributionBins } from "../drift/bins.ts";
import { DEFAULT_BINS } from "../drift/drift-report.ts";
import { type WindowDrift, judgeWindow, windowDrift } from "../drift/window-drift.ts";
import { loadReference } from "../drift/stored-reference.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { resolveWindowQuery, seriesQuerySchema, seriesWindows, windowQuerySchema } from "./window-query.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

/** The drift query, plus the opt-in `detail=bins` (distributions for the dashboard). */
const driftQuerySchema = windowQuerySchema.extend({ detail: z.enum(["bins"]).optional() });

/**
 * The features and prediction of a drift result with each one's reference and current shares
 * (`bins`) added.
 */
function withBins(result: WindowDrift): Pick<WindowDrift, "features" | "prediction"> {
  const { reference, drift } = result.reference;
  const bins = distributionBins(reference, result.aggregate, drift.bins ?? DEFAULT_BINS);
  const features = Object.fromEntries(Object.entries(result.features).map(([name, f]) => [name, { ...f, bins: bins.features[name] }]));
  const prediction = result.prediction && bins.prediction ? { ...result.prediction, bins: bins.prediction } : result.prediction;
  return { features, prediction };
}

/** One window's part of a drift answer; `bins` adds each feature's and the prediction's distributions. */
function windowAnswer(result: WindowDrift, bins: boolean): Omit<DriftAnswer, "model" | "version"> {
  const { features, prediction } = bins ? withBins(result) : result;
  return {
    from: iso(result.from),
    to: iso(result.to),
    count: result.aggregate.rows,
    features,
    prediction,
    entropy: result.entropy,
    dataset: result.dataset,
    embedding: result.embedding,
    skipped: result.skipped,
  };
}

/**
 * `GET /v1/drift?model=&version=&from=&to=&window=&segment=&role=[&detail=bins]` (read):
 * per-feature and prediction drift metrics, tests and verdicts, and dataset drift of one version
 * (default: the stable one) over a range (default: the last hour; rounded out to whole minutes,
 * or to `window` when given) in one segment (default: all traffic). `detail=bins` adds each
 * feature's (and the prediction's) reference and current shares over the metric bins.
 * `GET /v1/drift/series?…&step=` (read): the same for each window of `step` ms from `from` to
 * `to` (at most 40), oldest first, read and judged one window after the other: a dashboard's
 * heatmap in one request. See docs/drift.md.
 */
export const drift = new Hono<AppEnv>()
  .get(
    "/",
    documented("Drift of one version over a range, per feature, prediction and dataset", { 200: { description: "the drift", schema: driftAnswerSchema } }),
    requireRole("read"),
    validate("query", driftQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const query = c.req.valid("query");
      const q = await resolveWindowQuery(db, c.var.caller, query);
      const result = await windowDrift(c.env, db, q);
      if (!result) throw new ApiError(404, "not_found", `model "${q.name}" has no version ${q.version}`);
      return c.json({ model: q.name, version: q.version, ...windowAnswer(result, query.detail === "bins") } satisfies DriftAnswer);
    },
  )
  .get(
    "/series",
    documented("Drift of one version in each window of a range, oldest first", { 200: { description: "the drift per window", schema: driftSeriesAnswerSchema } }),
    requireRole("read"),
    validate("query", seriesQuerySchema),
    async (c) => {
      const db = openDb(c.env);
      const query = c.req.valid("query");
      const q = await resolveWindowQuery(db, c.var.caller, query);
      const ref = await loadReference(c.env, db, q.model, q.version);
      if (!ref) throw new ApiError(404, "not_found", `model "${q.name}" has no version ${q.version}`);
      // window by window: only one window's stored rows and aggregate are in memory at a time
      const windows = [];
      for (const w of seriesWindows(q, query.step)) windows.push(windowAnswer(await judgeWindow(c.env, db, { ...q, ...w }, ref), false));
      return c.json({ model: q.name, version: q.version, windows } satisfies DriftSeriesAnswer);
    },
  );
