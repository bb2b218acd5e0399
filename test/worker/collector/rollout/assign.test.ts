import { describe, expect, it } from "vitest";
import { assign } from "../../../../collector/rollout/assign.ts";

const CLIENTS = Array.from({ length: 100_000 }, (_, i) => `client-${i}`);

function canaryClients(percent: number, salt = "salt-a", model = "churn"): Set<string> {
  const rollout = { stable: 1, canary: { version: 2, percent }, salt };
  return new Set(CLIENTS.filter((c) => assign(c, model, rollout).role === "canary"));
}

describe("assign", () => {
  it.each([1, 5, 10, 25, 50, 90])("puts %i% of 100,000 client ids on the canary, within ±1 point", (percent) => {
    const share = (canaryClients(percent).size / CLIENTS.length) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(1);
  });

  it("keeps every 10% client on the canary when the percent rises to 20%", () => {
    const ten = canaryClients(10);
    const twenty = canaryClients(20);
    for (const client of ten) expect(twenty.has(client)).toBe(true);
    expect(twenty.size).toBeGreaterThan(ten.size);
  });

  it("is deterministic, and 0% / 100% mean nobody / everybody", () => {
    const rollout = { stable: 3, canary: { version: 4, percent: 37 }, salt: "s" };
    expect(CLIENTS.slice(0, 500).map((c) => assign(c, "m", rollout))).toEqual(CLIENTS.slice(0, 500).map((c) => assign(c, "m", rollout)));
    expect(canaryClients(0).size).toBe(0);
    expect(canaryClients(100).size).toBe(CLIENTS.length);
    expect(assign("x", "m", { stable: 3, canary: null, salt: "s" })).toEqual({ version: 3, role: "stable" });
  });

  it("draws a different sample for another salt or another model", () => {
    const a = canaryClients(10, "salt-a");
    const overlap = (b: Set<string>) => [...a].filter((c) => b.has(c)).length / a.size;
    // independent 10% samples overlap by about 10%, the same sample by 100%
    expect(overlap(canaryClients(10, "salt-b"))).toBeLessThan(0.2);
    expect(overlap(canaryClients(10, "salt-a", "other-model"))).toBeLessThan(0.2);
  });

  it("honours fractional percents", () => {
    const share = (canaryClients(0.5).size / CLIENTS.length) * 100;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
  });
});
