import type { Caller } from "./auth.ts";

/**
 * Hono environment of the collector: the Worker's bindings (typed by `wrangler types`) and
 * the request variables middleware sets (`caller`, by `requireRole`).
 */
export type AppEnv = { Bindings: Env; Variables: { caller: Caller } };
