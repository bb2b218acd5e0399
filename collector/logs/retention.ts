import type { Db } from "../db/client.ts";
import { listRollouts } from "../db/rollouts.ts";
import { DEFAULT_LOG_RETENTION_DAYS } from "../rollout/state.ts";
import { dayOf, modelPrefix, subPrefixes } from "./partition.ts";

/** Objects one sweep deletes at most (R2 deletes up to 1,000 keys a call); the next sweep goes on. */
export const MAX_SWEEP_DELETES = 10_000;

/**
 * The first day a model's logs are kept on at `now`: its `logRetentionDays` back, day-aligned.
 *
 * @param now - epoch ms
 * @param days - the model's retention in days
 */
export const firstKeptDay = (now: number, days: number): string => dayOf(now - (days - 1) * 86_400_000);

/**
 * Deletes every log partition (a version's day) older than its model's `logRetentionDays`
 * (rollout setting, default 30): what an R2 lifecycle rule on the prefix `logs/<model>/` does
 * on Cloudflare, where a partition's day and its objects' upload day are at most
 * `LIMITS.logMaxAgeMs` apart (docs/privacy.md). Bounded by {@link MAX_SWEEP_DELETES} a run.
 *
 * @param bucket - the R2 bucket
 * @param db - drizzle handle
 * @param now - epoch ms
 * @returns objects deleted
 */
export async function sweepLogs(bucket: R2Bucket, db: Db, now: number): Promise<number> {
  let deleted = 0;
  for (const [model, rollout] of await listRollouts(db)) {
    const keep = firstKeptDay(now, rollout.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS);
    for (const version of await subPrefixes(bucket, modelPrefix(model))) {
      for (const day of await subPrefixes(bucket, version)) {
        if (day.slice(version.length, -1) >= keep) continue;
        let page: R2Objects;
        do {
          if (deleted >= MAX_SWEEP_DELETES) return deleted;
          page = await bucket.list({ prefix: day, limit: Math.min(1000, MAX_SWEEP_DELETES - deleted) });
          if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
          deleted += page.objects.length;
        } while (page.truncated);
      }
    }
  }
  return deleted;
}
