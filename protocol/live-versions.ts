/**
 * The versions a rollout serves to live traffic: its stable version, then its canary if one runs
 * (a shadow runs beside them and answers no call).
 *
 * @param rollout - a rollout, as the registry stores it or `GET /v1/models/:model` answers it
 */
export const liveVersions = (rollout: { stable: number; canary: { version: number } | null }): number[] => (rollout.canary ? [rollout.stable, rollout.canary.version] : [rollout.stable]);
