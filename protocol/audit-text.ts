// No zod here: the dashboard imports this (the type imports are erased).
import type { AuditEntry, RolloutView } from "./api.ts";

/**
 * An audit entry's change in one line, for `driftline status` and the dashboard's audit log: a
 * rollout's before → after, a publish's version, "–" for what neither is.
 *
 * @param entry - an entry of `audit` of `GET /v1/models/:model`
 * @param rolloutText - how the caller writes a rollout
 * @example
 * auditChange(entry, describeRollout) // "stable v1 (config 1) → stable v1, canary v2 at 50% (config 2)"
 */
export function auditChange(entry: AuditEntry, rolloutText: (r: RolloutView) => string): string {
  const text = (x: unknown) =>
    x && typeof x === "object" && "stable" in x ? rolloutText(x as RolloutView) : x && typeof x === "object" && "version" in x ? `v${(x as { version: number }).version}` : "–";
  return entry.before ? `${text(entry.before)} → ${text(entry.after)}` : text(entry.after);
}
