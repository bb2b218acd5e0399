import type { RolloutState } from "./state.ts";

/**
 * Where the judged window of `current`'s canary starts: at `from`, unless its version was launched
 * as the canary after `from` and served live before that launch (a canary rolled back and launched
 * again, a stable rolled back from): then at the first whole minute after the launch, since the
 * version's calls before it were the earlier serving's, not this canary's.
 *
 * @param current - the rollout state, with a canary
 * @param replaced - the states changes replaced since `from` less the rollout grace period (a
 *   client keeps its version that long after a change), newest first
 * @param from - start of the trailing window the cron judges
 * @example
 * // v2 rolled back at 10:02, launched again at 10:03:20: judged from 10:04
 * canaryJudgedFrom(relaunched, [withoutCanary, withCanaryV2], Date.parse("2026-12-05T10:00Z"))
 */
export function canaryJudgedFrom(current: RolloutState, replaced: readonly RolloutState[], from: number): number {
  const version = current.canary?.version;
  const launch = replaced.findIndex((s) => s.canary?.version !== version);
  if (launch < 0) return from;
  const launchedAt = (replaced[launch - 1] ?? current).updatedAt;
  const servedBefore = replaced.slice(launch).some((s) => s.stable === version || s.canary?.version === version);
  return servedBefore ? Math.max(from, Math.ceil(launchedAt / 60_000) * 60_000) : from;
}
