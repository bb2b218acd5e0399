import { Hono } from "hono";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { windowDrift } from "../drift/window-drift.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { resolveWindowQuery, windowQuerySchema } from "../ingest/window-query.ts";
import { iso } from "../time.ts";
import { validate } from "../validate.ts";

/**
 * `GET /v1/drift?model=&version=&from=&to=&window=&segment=&role=` (read): per-feature and
 * prediction drift metrics, tests and verdicts, and dataset drift of one version (default: the
 * stable one) over a range (default: the last hour; rounded out to whole minutes, or to
 * `window` when given) in one segment (default: all traffic). See docs/drift.md.
 */
export const drift = new Hono<AppEnv>().get("/", requireRole("read"), validate("query", windowQuerySchema), async (c) => {
  const db = openDb(c.env);
  const q = await resolveWindowQuery(db, c.var.caller, c.req.valid("query"));
  const result = await windowDrift(c.env, db, q);
  if (!result) throw new ApiError(404, "not_found", `model "${q.model}" has no version ${q.version}`);
  return c.json({
    model: q.model,
    version: q.version,
    from: iso(result.from),
    to: iso(result.to),
    count: result.aggregate.rows,
    features: result.features,
    prediction: result.prediction,
    dataset: result.dataset,
  });
});
