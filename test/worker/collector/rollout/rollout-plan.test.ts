import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../../collector/db/audit.ts";
import { ApiError } from "../../../../collector/errors.ts";
import { planChange } from "../../../../collector/rollout/change.ts";
import { planRollback, previousStable } from "../../../../collector/rollout/rollback.ts";
import type { RolloutState } from "../../../../collector/rollout/state.ts";

const base: RolloutState = { configVersion: 5, stable: 2, canary: null, shadow: null, sampleRate: 1, salt: "s0", updatedAt: 0 };
const ctx = { latest: 4, now: 1000, newSalt: () => "s-new" };

function entry(action: AuditRecord["action"], before: number | null, after: number): AuditRecord {
  return { id: 0, model: "m", keyId: "k", at: 0, action, before: before === null ? null : { stable: before }, after: { stable: after } };
}

describe("previousStable", () => {
  it("pops on rollback, so repeated rollbacks walk back instead of toggling", () => {
    const log = [entry("rollout", null, 1), entry("rollout", 1, 2), entry("promote", 2, 3)];
    expect(previousStable(log)).toBe(2);
    expect(previousStable([...log, entry("rollback", 3, 2)])).toBe(1);
    expect(previousStable([...log, entry("rollback", 3, 2), entry("rollback", 2, 1)])).toBeUndefined();
  });

  it("ignores publishes and changes that keep stable", () => {
    const log = [entry("rollout", null, 1), { ...entry("publish", null, 9), after: { version: 2 } }, entry("rollout", 1, 1)];
    expect(previousStable(log)).toBeUndefined();
  });
});

describe("planChange", () => {
  it("keeps the salt when only the percent changes and draws a new one for a new canary version", () => {
    const started = planChange(base, { canary: { version: 3, percent: 10 } }, ctx)!;
    expect(started.next).toMatchObject({ configVersion: 6, salt: "s-new", canary: { version: 3, percent: 10 }, updatedAt: 1000 });
    const raised = planChange(started.next, { canary: { version: 3, percent: 20 } }, { ...ctx, newSalt: () => "other" })!;
    expect(raised.next.salt).toBe("s-new");
    const replaced = planChange(started.next, { canary: { version: 4, percent: 20 } }, { ...ctx, newSalt: () => "other" })!;
    expect(replaced.next.salt).toBe("other");
  });

  it("treats stable = current canary as promote and refuses a canary equal to stable", () => {
    const withCanary = { ...base, canary: { version: 3, percent: 50 } };
    expect(planChange(withCanary, { stable: 3 }, ctx)).toMatchObject({ action: "promote", next: { stable: 3, canary: null } });
    expect(() => planChange(withCanary, { stable: 3, canary: { version: 3, percent: 5 } }, ctx)).toThrow(ApiError);
    expect(() => planChange(base, { stable: 5 }, ctx)).toThrow(/does not exist/);
  });

  it("returns undefined for a change that changes nothing", () => {
    expect(planChange(base, { stable: 2, canary: null, shadow: null, sampleRate: 1 }, ctx)).toBeUndefined();
  });
});

describe("planRollback", () => {
  it("aborts a canary before touching stable, and refuses when there is no earlier stable", () => {
    const withCanary = { ...base, canary: { version: 3, percent: 50 } };
    expect(planRollback(withCanary, [], 7).next).toMatchObject({ stable: 2, canary: null, configVersion: 6 });
    expect(() => planRollback(base, [entry("rollout", null, 2)], 7)).toThrow(/nothing to roll back/);
  });

  it("drops a shadow of the version it returns to", () => {
    const state = { ...base, stable: 2, shadow: { version: 1, sampleRate: 0.1 } };
    const log = [entry("rollout", null, 1), entry("rollout", 1, 2)];
    expect(planRollback(state, log, 7).next).toMatchObject({ stable: 1, shadow: null });
  });
});
