import type { RolloutChannel } from "./rollout-channel.ts";

/**
 * The rollout channel object of a model, named by the model's key.
 *
 * @param env - the Worker's bindings
 * @param model - the model's key
 */
export function rolloutChannel(env: Env, model: string): DurableObjectStub<RolloutChannel> {
  return env.ROLLOUT_CHANNEL.get(env.ROLLOUT_CHANNEL.idFromName(model));
}

/**
 * Sends a model's new config version to its subscribers, after the rollout change was saved.
 * Never throws: the change stands when the channel fails, and clients still learn of it from
 * their next report answer or poll (the failure is logged).
 *
 * @param env - the Worker's bindings
 * @param model - the model's key
 * @param configVersion - the config version the change saved
 */
export async function announceRollout(env: Env, model: string, configVersion: number): Promise<void> {
  try {
    await rolloutChannel(env, model).announce(configVersion);
  } catch (err) {
    console.error("rollout channel: announce failed; clients learn of the change from report answers and polls", err);
  }
}

/**
 * Closes a revoked key's subscriptions in the rollout channel of each of `models`. Throws when a
 * channel fails: the revocation is stored, and revoking again (idempotent) closes them.
 *
 * @param env - the Worker's bindings
 * @param models - the keys of the models whose channels the key may have subscribed to
 * @param keyId - the revoked key's id
 */
export async function closeKeySubscriptions(env: Env, models: Iterable<string>, keyId: string): Promise<void> {
  await Promise.all([...models].map((model) => rolloutChannel(env, model).closeKey(keyId)));
}
