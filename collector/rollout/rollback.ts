import type { AuditRecord } from "../db/audit.ts";
import { ApiError } from "../errors.ts";
import type { PlannedChange } from "./change.ts";
import type { RolloutState } from "./state.ts";

function stableOf(view: unknown): number | undefined {
  const stable = (view as { stable?: unknown } | null)?.stable;
  return typeof stable === "number" ? stable : undefined;
}

/**
 * The stable version before the current one, from the audit log (oldest first). Stables form
 * a stack: a change of stable pushes, a rollback pops, so rolling back twice from 3 (after
 * 1 → 2 → 3) gives 2 and then 1 — never back to 3.
 *
 * @param history - the model's audit entries, oldest first
 * @returns the previous stable, or undefined when there is none
 */
export function previousStable(history: readonly Pick<AuditRecord, "action" | "before" | "after">[]): number | undefined {
  const stack: number[] = [];
  for (const entry of history) {
    if (entry.action === "publish") continue;
    const before = stableOf(entry.before);
    const after = stableOf(entry.after);
    if (after === undefined || after === before) continue;
    if (entry.action === "rollback") stack.pop();
    else stack.push(after);
    if (stack.at(-1) !== after) stack.push(after); // keeps the top right if the log was trimmed
  }
  return stack.at(-2);
}

/**
 * The stable version `POST /rollback` leaves every client on: the current stable while a canary
 * runs (the rollback aborts it), else the previous stable; undefined when there is nothing to
 * roll back.
 *
 * @param current - the stored state
 * @param history - the model's audit entries, oldest first
 */
export function rollbackTarget(current: RolloutState, history: readonly Pick<AuditRecord, "action" | "before" | "after">[]): number | undefined {
  if (current.canary) return current.stable;
  const previous = previousStable(history);
  return previous === current.stable ? undefined : previous;
}

/**
 * The rollout after `POST /rollback`: an active canary is aborted (stable unchanged);
 * otherwise stable goes back to the previous stable (a shadow of that version is dropped).
 * 409 `conflict` when there is nothing to roll back to.
 *
 * @param current - the stored state
 * @param history - the model's audit entries, oldest first
 * @param now - epoch ms of the change
 */
export function planRollback(current: RolloutState, history: readonly AuditRecord[], now: number): PlannedChange {
  const base = { configVersion: current.configVersion + 1, updatedAt: now };
  if (current.canary) return { action: "rollback", next: { ...current, ...base, canary: null } };
  const previous = rollbackTarget(current, history);
  if (previous === undefined) {
    throw new ApiError(409, "conflict", `nothing to roll back to: version ${current.stable} is the first stable`);
  }
  const shadow = current.shadow?.version === previous ? null : current.shadow;
  return { action: "rollback", next: { ...current, ...base, stable: previous, shadow } };
}
