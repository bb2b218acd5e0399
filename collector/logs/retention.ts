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
 * `LIMITS.logMaxAgeMs` apart (docs/privacy.md). Bounded by `maxDeletes` a run; the oldest
 * partitions of every model go first, so a model with a backlog past the bound cannot keep
 * the others' expired rows for ever, and the next sweep goes on.
 *
 * @param bucket - the R2 bucket
 * @param db - drizzle handle
 * @param now - epoch ms
 * @param maxDeletes - objects deleted at most
 * @returns objects deleted
 * @defaultValue maxDeletes {@link MAX_SWEEP_DELETES}
 */
export async function sweepLogs(bucket: R2Bucket, db: Db, now: number, maxDeletes = MAX_SWEEP_DELETES): Promise<number> {
  const expired: { day: string; prefix: string }[] = [];
  for (const [model, rollout] of await listRollouts(db)) {
    const keep = firstKeptDay(now, rollout.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS);
    for (const version of await subPrefixes(bucket, modelPrefix(model))) {
      for (const prefix of await subPrefixes(bucket, version)) {
        const day = prefix.slice(version.length, -1);
        if (day < keep) expired.push({ day, prefix });
      }
    }
  }
  expired.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  let deleted = 0;
  for (const { prefix } of expired) {
    let page: R2Objects;
    do {
      if (deleted >= maxDeletes) return deleted;
      page = await bucket.list({ prefix, limit: Math.min(1000, maxDeletes - deleted) });
      if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
      deleted += page.objects.length;
    } while (page.truncated);
  }
  return deleted;
}
