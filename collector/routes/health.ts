import { Hono } from "hono";
import { z } from "zod";
import { settingProblems } from "../config.ts";
import type { AppEnv } from "../env.ts";
import { documented } from "../openapi.ts";
import { DRIFTLINE_VERSION } from "../version.ts";

/** The outcome of probing one dependency. */
const probeSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
type Probe = z.infer<typeof probeSchema>;

/** The health answer, 200 or 503; `settings`: what to fix in wrangler.toml's `[vars]` (empty when nothing). */
const healthSchema = z.object({ status: z.enum(["ok", "degraded"]), version: z.string(), d1: probeSchema, r2: probeSchema, settings: z.array(z.string()) });

/**
 * Times one dependency's answer. Its error goes to the Worker's log, not into the public answer:
 * a storage error can name tables, buckets or internal hosts.
 *
 * @param name - the dependency, for the log
 * @param check - the call that must answer
 */
async function probe(name: string, check: () => Promise<unknown>): Promise<Probe> {
  const started = Date.now();
  try {
    await check();
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    console.error(`healthz: ${name} did not answer`, err);
    return { ok: false, ms: Date.now() - started, error: "no answer (the Worker's log says why)" };
  }
}

/**
 * `GET /healthz`: the collector's version, whether D1 and R2 answer, and the `[vars]` settings
 * that do not apply as written (a value out of range, a misspelt name: `settingProblems`).
 * 200 when D1 and R2 answer, 503 (same body) when either does not, so load balancers can act on
 * it; a setting problem does not change the status (the default applies).
 */
export const health = new Hono<AppEnv>().get(
  "/",
  documented("The collector's version, whether D1 and R2 answer, and settings that do not apply as written", {
    200: { description: "both answer", schema: healthSchema },
    503: { description: "D1 or R2 does not answer", schema: healthSchema },
  }),
  async (c) => {
    const [d1, r2] = await Promise.all([probe("D1", () => c.env.DB.prepare("select 1 as one").first()), probe("R2", () => c.env.ARTIFACTS.head("healthz-probe"))]);
    const ok = d1.ok && r2.ok;
    return c.json({ status: ok ? "ok" : "degraded", version: DRIFTLINE_VERSION, d1, r2, settings: settingProblems(c.env) } satisfies z.infer<typeof healthSchema>, ok ? 200 : 503);
  },
);
