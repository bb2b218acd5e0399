import { modelName } from "../registry/model-key.ts";
import { assign } from "./assign.ts";
import type { RolloutState } from "./state.ts";

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

/**
 * The assignment of `client` for `model` under `rollout` (the registry's sticky
 * {@link assign}), or null when the model has no rollout yet.
 *
 * @param rollout - the model's current rollout (the report route's cached read)
 * @param model - the model's key (the hint names the model by its name)
 * @param client - the client id
 */
export function assignmentHint(rollout: RolloutState | undefined, model: string, client: string): AssignmentHint | null {
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
