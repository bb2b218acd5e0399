import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

/** The drizzle handle every query function in collector/db/ takes first. */
export type Db = DrizzleD1Database;

/**
 * A drizzle handle over the Worker's D1 binding.
 *
 * @param env - the Worker's bindings
 */
export function openDb(env: Pick<Env, "DB">): Db {
  return drizzle(env.DB);
}
