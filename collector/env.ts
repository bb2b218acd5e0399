import type { Role } from "./tokens.ts";

/**
 * Who is calling: the key's app and role. The bootstrap key (`ADMIN_TOKEN`) is an admin of
 * every app: `app` is null and `bootstrap` true.
 */
export interface Caller {
  app: string | null;
  role: Role;
  /** The key id, or `"bootstrap"`; recorded in the audit log. */
  keyId: string;
  /** The key's label, if it has one. */
  label: string | null;
  /** Ingest keys bound to origins: the only origins whose pages may use the key; else null. */
  origins: string[] | null;
  bootstrap: boolean;
}

/**
 * Hono environment of the collector: the Worker's bindings (typed by `wrangler types`) and
 * the request variables middleware sets (`caller`, by `requireRole`).
 */
export type AppEnv = { Bindings: Env; Variables: { caller: Caller } };
