import { hash32 } from "../../protocol/hash.ts";
import { uncountedObjects } from "../aggregates/totals.ts";
import { shardCount } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { ModelAggregator } from "./model-aggregator.ts";

/**
 * The shard of a client: sticky, so a client's retried batch meets its own dedupe log.
 *
 * @param client - the client id
 * @param shards - shard count
 */
export function shardOf(client: string, shards: number): number {
  return hash32(client) % shards;
}

/**
 * The aggregator object of one model shard, named `model:shard`.
 *
 * @param env - the Worker's bindings
 * @param model - the model
 * @param shard - the shard
 */
export function aggregator(env: Env, model: string, shard: number): DurableObjectStub<ModelAggregator> {
  // wrangler types cannot name the class of a binding, so the namespace is typed here
  const ns = env.AGGREGATOR as unknown as DurableObjectNamespace<ModelAggregator>;
  return ns.get(ns.idFromName(`${model}:${shard}`));
}

/**
 * Flushes every shard of a model to D1 now.
 *
 * @param env - the Worker's bindings
 * @param model - the model
 */
export async function flushModel(env: Env, model: string): Promise<void> {
  await Promise.all(Array.from({ length: shardCount(env) }, (_, s) => aggregator(env, model, s).flush()));
}

/**
 * Has each aggregator object that stored rows before `report_totals` existed (migration 0018) add
 * them there, between its own writes. The minute cron runs it: after a deploy, `/metrics` leaves
 * such a model's counters out until the next run has counted them. An object that fails is
 * tried again at the next run.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 */
export async function countStoredTotals(env: Env, db: Db): Promise<void> {
  for (const { model, shard } of await uncountedObjects(db))
    await aggregator(env, model, shard)
      .countTotals(model, shard)
      .catch((err: unknown) => console.error(`the stored rows of ${model}:${shard} could not be counted; the next cron run tries again`, err));
}
