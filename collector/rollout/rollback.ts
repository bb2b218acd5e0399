import type { AuditRecord } from "../db/audit.ts";
import { ApiError } from "../errors.ts";
import type { PlannedChange } from "./change.ts";
import type { RolloutState } from "./state.ts";

function stableOf(view: unknown): number | undefined {
  const stable = (view as { stable?: unknown } | null)?.stable;
  return typeof stable === "number" ? stable : undefined;
}

type StableChange = Pick<AuditRecord, "action" | "before" | "after">;

/**
 * The stable version before the current one, from the audit log. Stables form a stack: a change
 * of stable pushes, a rollback pops, so rolling back twice from 3 (after 1 → 2 → 3) gives 2 and
 * then 1 — never back to 3. Read from the newest entry back, that is a depth in the stack: the
 * one wanted is one below the top; each change of stable read, going back, moves it one up (a
 * push) or one down (a rollback popped what was above it), and the entry at depth 0 names it.
 * The walk stops there, so it reads only as far back as the answer lies.
 *
 * @param newestFirst - the model's audit entries, newest first (`stableChangesNewestFirst`, or all of them)
 * @returns the previous stable, or undefined when there is none
 */
export async function previousStable(newestFirst: AsyncIterable<StableChange> | Iterable<StableChange>): Promise<number | undefined> {
  let depth = 1;
  for await (const entry of newestFirst) {
    if (entry.action === "publish") continue;
    const before = stableOf(entry.before);
    const after = stableOf(entry.after);
    if (after === undefined || after === before) continue;
    if (depth === 0) return after;
    depth += entry.action === "rollback" ? 1 : -1;
  }
  return undefined;
}

/**
 * The stable version `POST /rollback` leaves every client on: the current stable while a canary
 * runs (the rollback aborts it), else the previous stable; undefined when there is nothing to
 * roll back.
 *
 * @param current - the stored state
 * @param newestFirst - the model's audit entries, newest first (read only without a canary)
 */
export async function rollbackTarget(current: RolloutState, newestFirst: AsyncIterable<StableChange> | Iterable<StableChange>): Promise<number | undefined> {
  if (current.canary) return current.stable;
  const previous = await previousStable(newestFirst);
  return previous === current.stable ? undefined : previous;
}

/**
 * The rollout after `POST /rollback`: an active canary is aborted (stable unchanged);
 * otherwise stable goes back to the previous stable (a shadow of that version is dropped).
 * 409 `conflict` when there is nothing to roll back to.
 *
 * @param current - the stored state
 * @param newestFirst - the model's audit entries, newest first (`stableChangesNewestFirst`, or all of them)
 * @param now - epoch ms of the change
 */
export async function planRollback(current: RolloutState, newestFirst: AsyncIterable<StableChange> | Iterable<StableChange>, now: number): Promise<PlannedChange> {
  const base = { configVersion: current.configVersion + 1, updatedAt: now };
  if (current.canary) return { action: "rollback", next: { ...current, ...base, canary: null } };
  const previous = await rollbackTarget(current, newestFirst);
  if (previous === undefined) {
    throw new ApiError(409, "conflict", `nothing to roll back to: version ${current.stable} is the first stable`);
  }
  const shadow = current.shadow?.version === previous ? null : current.shadow;
  return { action: "rollback", next: { ...current, ...base, stable: previous, shadow } };
}
