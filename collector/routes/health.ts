import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { DRIFTLINE_VERSION } from "../version.ts";

/** The outcome of probing one dependency. */
interface Probe {
  ok: boolean;
  ms: number;
  error?: string;
}

async function probe(check: () => Promise<unknown>): Promise<Probe> {
  const started = Date.now();
  try {
    await check();
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * `GET /healthz`: the collector's version and whether D1 and R2 answer.
 * 200 when both do, 503 (same body) when either does not, so load balancers can act on it.
 */
export const health = new Hono<AppEnv>().get("/", async (c) => {
  const [d1, r2] = await Promise.all([
    probe(() => c.env.DB.prepare("select 1 as one").first()),
    probe(() => c.env.ARTIFACTS.head("healthz-probe")),
  ]);
  const ok = d1.ok && r2.ok;
  return c.json({ status: ok ? "ok" : "degraded", version: DRIFTLINE_VERSION, d1, r2 }, ok ? 200 : 503);
});
