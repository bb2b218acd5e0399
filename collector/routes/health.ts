import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { documented } from "../openapi.ts";
import { DRIFTLINE_VERSION } from "../version.ts";

/** The outcome of probing one dependency. */
const probeSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
type Probe = z.infer<typeof probeSchema>;

/** The health answer, 200 or 503. */
const healthSchema = z.object({ status: z.enum(["ok", "degraded"]), version: z.string(), d1: probeSchema, r2: probeSchema });

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
export const health = new Hono<AppEnv>().get(
  "/",
  documented("The collector's version and whether D1 and R2 answer", {
    200: { description: "both answer", schema: healthSchema },
    503: { description: "D1 or R2 does not answer", schema: healthSchema },
  }),
  async (c) => {
    const [d1, r2] = await Promise.all([probe(() => c.env.DB.prepare("select 1 as one").first()), probe(() => c.env.ARTIFACTS.head("healthz-probe"))]);
    const ok = d1.ok && r2.ok;
    return c.json({ status: ok ? "ok" : "degraded", version: DRIFTLINE_VERSION, d1, r2 } satisfies z.infer<typeof healthSchema>, ok ? 200 : 503);
  },
);
