import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../../collector/db/audit.ts";
import { ApiError } from "../../../../collector/errors.ts";
import { planChange } from "../../../../collector/rollout/change.ts";
import { planRollback, previousStable } from "../../../../collector/rollout/rollback.ts";
import { seededRandom } from "../../../../protocol/seeded-random.ts";
import type { RolloutState } from "../../../../collector/rollout/state.ts";

const base: RolloutState = { configVersion: 5, stable: 2, canary: null, shadow: null, sampleRate: 1, salt: "s0", updatedAt: 0 };
const ctx = { versions: new Set([1, 2, 3, 4]), now: 1000, newSalt: () => "s-new" };

function entry(action: AuditRecord["action"], before: number | null, after: number): AuditRecord {
  return { id: 0, model: "m", keyId: "k", at: 0, action, before: before === null ? null : { stable: before }, after: { stable: after } };
}

describe("previousStable", () => {
  it("pops on rollback, so repeated rollbacks walk back instead of toggling", async () => {
    const log = [entry("rollout", null, 1), entry("rollout", 1, 2), entry("promote", 2, 3)];
    const newestFirst = (entries: AuditRecord[]) => [...entries].reverse();
    expect(await previousStable(newestFirst(log))).toBe(2);
    expect(await previousStable(newestFirst([...log, entry("rollback", 3, 2)]))).toBe(1);
    expect(await previousStable(newestFirst([...log, entry("rollback", 3, 2), entry("rollback", 2, 1)]))).toBeUndefined();
  });

  it("ignores publishes and changes that keep stable", async () => {
    const log = [entry("rollout", null, 1), { ...entry("publish", null, 9), after: { version: 2 } }, entry("rollout", 1, 1)];
    expect(await previousStable([...log].reverse())).toBeUndefined();
  });

  it("gives what a stack of stables, replayed oldest first, has below its top, on random logs", async () => {
    const random = seededRandom(7);
    for (let run = 0; run < 200; run++) {
      // a log as the registry writes it: a rollback goes back to the stable below the top
      const stack = [1];
      const log = [entry("rollout", null, 1)];
      for (let i = 0, n = Math.floor(random() * 30); i < n; i++) {
        const top = stack.at(-1)!;
        const pick = random();
        if (pick < 0.3 && stack.length > 1) {
          stack.pop();
          log.push(entry("rollback", top, stack.at(-1)!));
        } else if (pick < 0.5) log.push(entry(pick < 0.4 ? "publish" : "rollout", top, top));
        else {
          const next = 1 + Math.floor(random() * 5);
          if (next !== top) stack.push(next);
          log.push(entry(random() < 0.5 ? "rollout" : "promote", top, next));
        }
      }
      expect(await previousStable([...log].reverse()), JSON.stringify(log.map((e) => [e.action, e.after]))).toBe(stack.at(-2));
    }
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

  it("ends a shadow of the canary it promotes, and says how to make a shadowed version stable", () => {
    const both = { ...base, canary: { version: 3, percent: 50 }, shadow: { version: 3, sampleRate: 0.5 } };
    expect(planChange(both, { stable: 3 }, ctx)).toMatchObject({ action: "promote", next: { stable: 3, canary: null, shadow: null } });
    const shadowed = { ...base, shadow: { version: 3, sampleRate: 0.5 } };
    expect(() => planChange(shadowed, { stable: 3 }, ctx)).toThrow(/version 3 cannot be both stable and the shadow: end the shadow in the same change/);
    expect(planChange(shadowed, { stable: 3, shadow: null }, ctx)?.next).toMatchObject({ stable: 3, shadow: null });
  });

  it("returns undefined for a change that changes nothing", () => {
    expect(planChange(base, { stable: 2, canary: null, shadow: null, sampleRate: 1 }, ctx)).toBeUndefined();
  });
});

describe("planRollback", () => {
  it("aborts a canary before touching stable, and refuses when there is no earlier stable", async () => {
    const withCanary = { ...base, canary: { version: 3, percent: 50 } };
    expect((await planRollback(withCanary, [], 7)).next).toMatchObject({ stable: 2, canary: null, configVersion: 6 });
    await expect(planRollback(base, [entry("rollout", null, 2)], 7)).rejects.toThrow(/nothing to roll back/);
  });

  it("drops a shadow of the version it returns to", async () => {
    const state = { ...base, stable: 2, shadow: { version: 1, sampleRate: 0.1 } };
    const log = [entry("rollout", null, 1), entry("rollout", 1, 2)];
    expect((await planRollback(state, [...log].reverse(), 7)).next).toMatchObject({ stable: 1, shadow: null });
  });
});
