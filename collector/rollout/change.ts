import type { RolloutChange } from "../api-schemas.ts";
import { ApiError } from "../errors.ts";
import type { AuditAction } from "../db/audit.ts";
import { DEFAULT_LOG_RETENTION_DAYS, type RolloutState, servedVersions } from "./state.ts";

/** A computed rollout change: the next state and how the audit log calls it. */
export interface PlannedChange {
  next: RolloutState;
  action: AuditAction;
}

/** What a change needs besides the current state. */
export interface ChangeContext {
  /** The version numbers the model has (a failed publish leaves a gap). */
  versions: ReadonlySet<number>;
  /** Epoch ms of the change. */
  now: number;
  /** A new random salt. */
  newSalt: () => string;
}

/**
 * Throws 400 `validation` unless the state is consistent: every version exists, the canary
 * and the shadow differ from stable.
 *
 * @param s - the proposed state
 * @param versions - the version numbers the model has
 */
export function checkRollout(s: RolloutState, versions: ReadonlySet<number>): void {
  const missing = servedVersions(s).find((v) => !versions.has(v));
  if (missing !== undefined) {
    throw new ApiError(400, "validation", `version ${missing} does not exist (latest is ${Math.max(0, ...versions)})`);
  }
  if (s.canary?.version === s.stable) throw new ApiError(400, "validation", `canary version ${s.stable} is already stable`);
  if (s.shadow?.version === s.stable) {
    throw new ApiError(
      400,
      "validation",
      `version ${s.stable} cannot be both stable and the shadow: end the shadow in the same change ("shadow": null, driftline rollout --no-shadow) or shadow another version`,
    );
  }
}

/**
 * The rollout after a `PUT /rollout` body, or undefined when the body changes nothing.
 * Setting `stable` to the current canary (without naming a canary) is a promote: the canary
 * is cleared, and so is a shadow of that version unless the body names one. A new canary
 * version gets a new salt; a new percent keeps it, so raising the percent only adds clients.
 *
 * @param current - the stored state
 * @param change - the validated body
 * @param ctx - the model's versions, time and salt source
 * @example
 * planChange(state, { canary: { version: 4, percent: 10 } }, ctx)?.action // "rollout"
 */
export function planChange(current: RolloutState, change: RolloutChange, ctx: ChangeContext): PlannedChange | undefined {
  const promote = change.stable !== undefined && change.canary === undefined && change.stable === current.canary?.version;
  const proposed = {
    stable: change.stable ?? current.stable,
    canary: promote ? null : change.canary === undefined ? current.canary : change.canary,
    shadow: change.shadow !== undefined ? change.shadow : promote && current.shadow?.version === change.stable ? null : current.shadow,
    sampleRate: change.sampleRate ?? current.sampleRate,
    logRate: change.logRate ?? current.logRate ?? 0,
    logRetentionDays: change.logRetentionDays ?? current.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
  };
  if (sameRollout(current, proposed)) return undefined;
  const canaryMoved = proposed.canary?.version !== current.canary?.version;
  const next: RolloutState = {
    ...proposed,
    configVersion: current.configVersion + 1,
    salt: canaryMoved ? ctx.newSalt() : current.salt,
    updatedAt: ctx.now,
  };
  checkRollout(next, ctx.versions);
  return { next, action: promote ? "promote" : "rollout" };
}

type Compared = "stable" | "canary" | "shadow" | "sampleRate" | "logRate" | "logRetentionDays";

/**
 * Whether two rollouts assign the same versions at the same rates and keep logs alike.
 *
 * @param a - one rollout
 * @param b - another
 */
export function sameRollout(a: Pick<RolloutState, Compared>, b: Pick<RolloutState, Compared>): boolean {
  return (
    a.stable === b.stable &&
    a.sampleRate === b.sampleRate &&
    (a.logRate ?? 0) === (b.logRate ?? 0) &&
    (a.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS) === (b.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS) &&
    a.canary?.version === b.canary?.version &&
    a.canary?.percent === b.canary?.percent &&
    a.shadow?.version === b.shadow?.version &&
    a.shadow?.sampleRate === b.shadow?.sampleRate
  );
}
