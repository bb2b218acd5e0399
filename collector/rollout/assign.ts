import { bucket } from "../../protocol/hash.ts";
import type { RolloutState } from "./state.ts";

/** Buckets of the canary split: percent in steps of 0.01. */
export const BUCKETS = 10_000;

/** Which version a client runs, and whether that is the stable or the canary. */
export interface VersionChoice {
  version: number;
  role: "stable" | "canary";
}

/**
 * The version `client` runs: deterministic and sticky. The bucket is a hash of client,
 * model and the rollout's salt; clients under `percent` run the canary. Raising the percent
 * (same salt) only adds clients; a new canary version (new salt) draws a fresh sample.
 *
 * @param client - the client id
 * @param model - the model name
 * @param rollout - stable, canary and salt
 * @example
 * assign("c-1", "churn", { stable: 3, canary: { version: 4, percent: 10 }, salt: "x" })
 * // { version: 4, role: "canary" } for about 10% of client ids
 */
export function assign(client: string, model: string, rollout: Pick<RolloutState, "stable" | "canary" | "salt">): VersionChoice {
  const { canary } = rollout;
  if (canary && bucket(`${client}:${model}:${rollout.salt}`, BUCKETS) < Math.round(canary.percent * (BUCKETS / 100))) {
    return { version: canary.version, role: "canary" };
  }
  return { version: rollout.stable, role: "stable" };
}
