import type { Db } from "../db/client.ts";
import { getRollout } from "../db/rollouts.ts";
import { modelName } from "../registry/model-key.ts";
import { assign } from "../rollout/assign.ts";
import type { RolloutState } from "../rollout/state.ts";

/**
 * The part of a client's assignment a report answer carries: enough to tell whether anything
 * changed (`configVersion`) and what to run. The manifests stay with `GET /v1/assignment`,
 * which the client fetches when `configVersion` moved, so report answers stay small.
 */
export interface AssignmentHint {
  model: string;
  client: string;
  version: number;
  role: "stable" | "canary";
  configVersion: number;
  sampleRate: number;
  shadow?: { version: number; sampleRate: number };
}

/** A rollout read is reused this long: at a thousand reports a second, one read instead of hundreds. */
const ROLLOUT_TTL_MS = 1000;
const rollouts = new Map<string, { at: number; state: Promise<RolloutState | undefined> }>();

function cachedRollout(db: Db, model: string): Promise<RolloutState | undefined> {
  const now = Date.now();
  const hit = rollouts.get(model);
  if (hit && now - hit.at < ROLLOUT_TTL_MS) return hit.state;
  const state = getRollout(db, model);
  if (rollouts.size > 1000) rollouts.clear();
  rollouts.set(model, { at: now, state });
  // a failed read is not kept
  state.catch(() => rollouts.delete(model));
  return state;
}

/**
 * The current assignment of `client` for `model` (the registry's sticky {@link assign}), or
 * null when the model has no rollout yet. The rollout is at most a second old.
 *
 * @param db - drizzle handle
 * @param model - the model's key (the hint names the model by its name)
 * @param client - the client id
 */
export async function assignmentHint(db: Db, model: string, client: string): Promise<AssignmentHint | null> {
  const rollout = await cachedRollout(db, model);
  if (!rollout) return null;
  const choice = assign(client, model, rollout);
  const shadow = rollout.shadow && rollout.shadow.version !== choice.version ? rollout.shadow : null;
  return {
    model: modelName(model),
    client,
    version: choice.version,
    role: choice.role,
    configVersion: rollout.configVersion,
    sampleRate: rollout.sampleRate,
    ...(shadow && { shadow: { version: shadow.version, sampleRate: shadow.sampleRate } }),
  };
}
