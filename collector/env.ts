/** Hono environment of the collector: the Worker's bindings, typed by `wrangler types`. */
export type AppEnv = { Bindings: Env };
