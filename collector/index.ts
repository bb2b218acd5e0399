import { Hono } from "hono";
import { runAlerts } from "./alerts/evaluate.ts";
import { browserCors } from "./cors.ts";
import type { AppEnv } from "./env.ts";
import { errorBody, handleError } from "./errors.ts";
import { limitClientIp } from "./http/rate-limit.ts";
import { documented, openApiDocument } from "./openapi.ts";
import { openDb } from "./db/client.ts";
import { sweepLogs } from "./logs/retention.ts";
import { countStoredTotals } from "./ingest/routing.ts";
import { alerts, modelAlerts } from "./routes/alerts.ts";
import { artifacts } from "./routes/artifacts.ts";
import { assignment } from "./routes/assignment.ts";
import { drift } from "./routes/drift.ts";
import { health } from "./routes/health.ts";
import { keys } from "./routes/keys.ts";
import { logs } from "./routes/logs.ts";
import { metrics } from "./routes/metrics.ts";
import { models } from "./routes/models.ts";
import { reports } from "./routes/reports.ts";
import { rollout } from "./routes/rollout.ts";
import { rolloutChannelRoute } from "./routes/rollout-channel.ts";
import { segments } from "./routes/segments.ts";
import { stats } from "./routes/stats.ts";
import { versions } from "./routes/versions.ts";

/** The collector's HTTP app: every route is a sub-app mounted here. */
export const app = new Hono<AppEnv>();

// Before the routes, so preflights are answered without a key and errors carry CORS headers.
for (const path of ["/v1/assignment", "/v1/artifacts/*", "/v1/reports", "/v1/reports/*", "/v1/logs"]) app.use(path, browserCors);
// Every request is limited per client address before anything else runs (what pages call and
// what operators call counted apart).
app.use("*", limitClientIp);

app.route("/healthz", health);
app.route("/v1/keys", keys);
app.route("/v1/artifacts", artifacts);
app.route("/v1/models", models);
app.route("/v1/models/:model/versions", versions);
app.route("/v1/models/:model", rollout);
app.route("/v1/assignment", assignment);
app.route("/v1/reports", reports);
app.route("/v1/logs", logs);
app.route("/v1/rollout-channel", rolloutChannelRoute);
app.route("/v1/drift", drift);
app.route("/v1/stats", stats);
app.route("/v1/segments", segments);
app.route("/v1/models/:model", modelAlerts);
app.route("/v1/alerts", alerts);
app.route("/metrics", metrics);
// after every route, so the document lists them all
app.get("/v1/openapi.json", documented("This document: the API in OpenAPI 3.1", { 200: { description: "the OpenAPI document", media: "application/json" } }), openApiDocument(app));

app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
app.onError(handleError);

export { ModelAggregator } from "./ingest/model-aggregator.ts";
export { RolloutChannel } from "./push/rollout-channel.ts";
export { ModelEvaluator } from "./alerts/model-evaluator.ts";

export default {
  fetch: app.fetch,
  /**
   * The minute cron (wrangler.toml `[triggers]`): alerts and the canary guardrail; the counters of
   * rows stored before `report_totals` (once, after the deploy of migration 0018); once an hour the
   * log retention sweep.
   */
  async scheduled(controller, env) {
    await runAlerts(env, controller.scheduledTime);
    await countStoredTotals(env, openDb(env)).catch((err) => console.error("counting stored totals failed", err));
    const now = controller.scheduledTime;
    if (now % 3_600_000 < 60_000) await sweepLogs(env.ARTIFACTS, openDb(env), now).catch((err) => console.error("log retention sweep failed", err));
  },
} satisfies ExportedHandler<Env>;
