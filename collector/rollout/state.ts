import type { RolloutView } from "../../protocol/api.ts";

/**
 * The rollout state of one model. Clients on the canary are those whose sticky bucket (from
 * `salt`) falls under `percent`; everyone runs the shadow (if any) on sampled rows.
 */
export interface RolloutState extends Omit<RolloutView, "updatedAt"> {
  /** Share of rows logged raw by apps that allow it; absent: 0 (off). */
  logRate?: number;
  /** Days logged rows are kept; absent: {@link DEFAULT_LOG_RETENTION_DAYS}. */
  logRetentionDays?: number;
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
  return { ...rest, logRate: state.logRate ?? 0, logRetentionDays: state.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS, updatedAt: new Date(updatedAt).toISOString() };
}

/**
 * The versions a rollout state serves: stable, then the canary and the shadow when it has them.
 *
 * @param state - the state
 */
export const servedVersions = (state: Pick<RolloutState, "stable" | "canary" | "shadow">): number[] => [state.stable, state.canary?.version, state.shadow?.version].filter((v) => v !== undefined);

/** Days logged rows are kept unless the rollout says otherwise. */
export const DEFAULT_LOG_RETENTION_DAYS = 30;

/** Report sample rate of a new model: every row. */
export const DEFAULT_SAMPLE_RATE = 1;
