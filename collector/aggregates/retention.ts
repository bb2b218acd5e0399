import { and, eq, lt } from "drizzle-orm";
import { retentionSettings } from "../config.ts";
import type { Db } from "../db/client.ts";
import { listModels } from "../db/models.ts";
import { aggregates } from "../db/schema.ts";
import { ALL_SEGMENT } from "./segments.ts";
import { type Retention, windowStart } from "./windows.ts";

/**
 * Which windows exist at `now`: minute rows for `MINUTE_RETENTION_HOURS` (default 48), hour
 * rows for `HOUR_RETENTION_DAYS` (default 90), day rows for ever. Boundaries are aligned to the
 * next coarser size, so reads of older ranges round out to it without overlap. Minute rows are
 * kept no further back than hour rows: where the hour retention is the shorter (1 day against
 * 48 hours), minute rows before its boundary would be read beside the day rows that hold the
 * same reports, so they count as gone (and are pruned).
 *
 * Segment slices have no minute rows at all (see `planRollUp`): for a segment other than ""
 * the minute retention is empty, so reads round out to hours.
 *
 * @param env - the Worker's bindings
 * @param now - epoch ms
 * @param segment - the canonical segment read
 * @defaultValue segment "" (all traffic)
 */
export function retentionOf(env: Env, now: number, segment = ALL_SEGMENT): Retention {
  const { minuteHours, hourDays } = retentionSettings(env);
  const hoursSince = windowStart(now - hourDays * 86_400_000, "day");
  return {
    minutesSince: segment === ALL_SEGMENT ? Math.max(windowStart(now - minuteHours * 3_600_000, "hour"), hoursSince) : Infinity,
    hoursSince,
  };
}

/**
 * Deletes minute and hour aggregates past their retention, model by model (each delete is a
 * range of the primary key). Reads never use them: they read coarser windows there.
 *
 * @param db - drizzle handle
 * @param env - the Worker's bindings
 * @param now - epoch ms
 * @returns rows deleted
 */
export async function pruneAggregates(db: Db, env: Env, now: number): Promise<number> {
  const { minutesSince, hoursSince } = retentionOf(env, now);
  let deleted = 0;
  for (const m of await listModels(db)) {
    const results = await db.batch([
      db.delete(aggregates).where(and(eq(aggregates.model, m.id), eq(aggregates.granularity, "minute"), lt(aggregates.windowStart, minutesSince))),
      db.delete(aggregates).where(and(eq(aggregates.model, m.id), eq(aggregates.granularity, "hour"), lt(aggregates.windowStart, hoursSince))),
    ]);
    for (const r of results) deleted += (r as { meta?: { changes?: number } }).meta?.changes ?? 0;
  }
  return deleted;
}
