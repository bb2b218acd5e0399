import { and, eq, lt, sql } from "drizzle-orm";
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

/** Expired rows one statement deletes at most: a day of a fleet's hour slices is far more than one statement should. */
const PRUNE_PAGE = 10_000;

/** Pages of each model's minute and hour rows one prune deletes at most; a longer backlog goes on in the next run. */
const PRUNE_MAX_PASSES = 20;

/**
 * Deletes minute and hour aggregates past their retention, a page of each model's minute and
 * hour rows per D1 batch: every model's first, then again for those that filled a page, up to
 * {@link PRUNE_MAX_PASSES} pages, so no statement deletes more than `page` rows and one model's
 * backlog does not hold up the others. Reads never use these rows: they read coarser windows there.
 * An hour row not yet rolled into its day row is kept until it is (see `expiredPage`).
 *
 * @param db - drizzle handle
 * @param env - the Worker's bindings
 * @param now - epoch ms
 * @param page - rows one statement deletes at most
 * @defaultValue page {@link PRUNE_PAGE}
 * @returns rows deleted
 */
export async function pruneAggregates(db: Db, env: Env, now: number, page = PRUNE_PAGE): Promise<number> {
  const { minutesSince, hoursSince } = retentionOf(env, now);
  let models = (await listModels(db)).map((m) => m.id);
  let deleted = 0;
  for (let pass = 0; pass < PRUNE_MAX_PASSES && models.length > 0; pass++) {
    const more: string[] = [];
    for (const model of models) {
      const results = await db.batch([expiredPage(db, model, "minute", minutesSince, page), expiredPage(db, model, "hour", hoursSince, page)]);
      const changes = results.map((r) => (r as { meta?: { changes?: number } }).meta?.changes ?? 0);
      deleted += changes.reduce((n, c) => n + c, 0);
      if (changes.some((c) => c >= page)) more.push(model);
    }
    models = more;
  }
  return deleted;
}

/**
 * A delete of at most `page` of a model's rows of one window size that start before `before`.
 * An hour row not yet rolled into its day row stays (day reads take it with the day) until its
 * roll-up, however late: deleting it would lose its reports. Minute rows are always `rolled`.
 */
function expiredPage(db: Db, model: string, granularity: "minute" | "hour", before: number, page: number) {
  const expired = and(eq(aggregates.model, model), eq(aggregates.granularity, granularity), lt(aggregates.windowStart, before), eq(aggregates.rolled, 1));
  return db.delete(aggregates).where(sql`rowid in (select rowid from ${aggregates} where ${expired} limit ${page})`);
}
