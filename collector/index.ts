import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { errorBody, handleError } from "./errors.ts";
import { health } from "./routes/health.ts";

/** The collector's HTTP app: every route is a sub-app mounted here. */
export const app = new Hono<AppEnv>();

app.route("/healthz", health);

app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
app.onError(handleError);

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
