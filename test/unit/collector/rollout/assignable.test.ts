import { describe, expect, it } from "vitest";
import { assign } from "../../../../collector/rollout/assign.ts";
import { DEFAULT_ROLLOUT_GRACE_MS, rolloutGraceMs } from "../../../../collector/config.ts";
import { assignableVersions, notAssigned } from "../../../../collector/rollout/assignable.ts";
import type { RolloutState } from "../../../../collector/rollout/state.ts";

const base: RolloutState = { configVersion: 1, stable: 1, canary: null, shadow: null, sampleRate: 1, salt: "s1", updatedAt: 0 };
const canary: RolloutState = { ...base, configVersion: 2, canary: { version: 2, percent: 30 } };
const clients = Array.from({ length: 50 }, (_, i) => `c-${i}`);
const inside = clients.find((c) => assign(c, "m", canary).role === "canary")!;
const outside = clients.find((c) => assign(c, "m", canary).role === "stable")!;

describe("assignableVersions and notAssigned", () => {
  it("allow stable to everyone and the canary to clients in its share", () => {
    expect(notAssigned({ version: 1, role: "live" }, assignableVersions(outside, "m", [canary]))).toBeUndefined();
    expect(notAssigned({ version: 2, role: "live" }, assignableVersions(inside, "m", [canary]))).toBeUndefined();
    expect(notAssigned({ version: 2, role: "live" }, assignableVersions(outside, "m", [canary]))).toBe("version 2 is not assigned to this client as live");
  });

  it("take the union of the current and recent states", () => {
    expect(notAssigned({ version: 2, role: "live" }, assignableVersions(inside, "m", [base, canary]))).toBeUndefined();
    expect(notAssigned({ version: 2, role: "live" }, assignableVersions(inside, "m", [base]))).toBeDefined();
  });

  it("allow shadow reports only of a shadow version", () => {
    const shadowed: RolloutState = { ...base, shadow: { version: 3, sampleRate: 1 } };
    const allowed = assignableVersions(outside, "m", [shadowed]);
    expect(notAssigned({ version: 1, role: "shadow", shadow: { version: 3, rows: 1 } }, allowed)).toBeUndefined();
    expect(notAssigned({ version: 3, role: "shadow" }, allowed)).toBeUndefined();
    expect(notAssigned({ version: 1, role: "shadow", shadow: { version: 2, rows: 1 } }, allowed)).toBe("version 2 is not this client's shadow");
    expect(notAssigned({ version: 3, role: "live" }, allowed)).toBeDefined();
    expect(notAssigned({ version: 1, role: "shadow" }, assignableVersions(outside, "m", [base]))).toBe("the model has no shadow version");
  });

  it("read ROLLOUT_GRACE_MS, falling back to 70 minutes", () => {
    expect(DEFAULT_ROLLOUT_GRACE_MS).toBe(4_200_000);
    expect(rolloutGraceMs({})).toBe(DEFAULT_ROLLOUT_GRACE_MS);
    expect(rolloutGraceMs({ ROLLOUT_GRACE_MS: "nope" })).toBe(DEFAULT_ROLLOUT_GRACE_MS);
    expect(rolloutGraceMs({ ROLLOUT_GRACE_MS: "0" })).toBe(0);
    expect(rolloutGraceMs({ ROLLOUT_GRACE_MS: "60000" })).toBe(60_000);
  });
});
