import type { RolloutView } from "../../protocol/api.ts";

/**
 * The rollout state of one model. Clients on the canary are those whose sticky bucket (from
 * `salt`) falls under `percent`; everyone runs the shadow (if any) on sampled rows.
 */
export interface RolloutState extends Omit<RolloutView, "updatedAt"> {
  /** Per-canary random salt of the bucket hash; changes only when the canary version does. */
  salt: string;
  /** Epoch ms of the last change. */
  updatedAt: number;
}

/** The rollout as the API and the audit log show it: no salt, ISO time. */
export type { RolloutView };

/**
 * The public view of a rollout state.
 *
 * @param state - the stored state
 */
export function rolloutView(state: RolloutState): RolloutView {
  const { salt: _salt, updatedAt, ...rest } = state;
  return { ...rest, updatedAt: new Date(updatedAt).toISOString() };
}

/** Report sample rate of a new model: every row. */
export const DEFAULT_SAMPLE_RATE = 1;
