import { hash32 } from "../../protocol/hash.ts";

/** Where every model's logged rows live in the R2 bucket. */
const ROOT = "logs/";

/** A day as R2 partitions name it: `YYYY-MM-DD` (UTC). */
export const dayOf = (t: number): string => new Date(t).toISOString().slice(0, 10);

/**
 * The prefix of every logged object of a model: `logs/<model key, URI-encoded>/`.
 *
 * @param model - the model's key (collector/registry/model-key.ts)
 */
export const modelPrefix = (model: string): string => `${ROOT}${encodeURIComponent(model)}/`;

/**
 * The partition of rows of `version` predicted at `t`: `logs/<model>/<version>/<YYYY-MM-DD>/`.
 *
 * @param model - the model's key
 * @param version - the version that predicted
 * @param t - epoch ms of the prediction
 */
export const partitionOf = (model: string, version: number, t: number): string => `${modelPrefix(model)}${version}/${dayOf(t)}/`;

/** What an object of a partition holds: rows, or labels of rows sent earlier. */
export type LogKind = "rows" | "labels";

/**
 * The object one batch writes into one partition: named by its client and batch id, so a
 * retried batch finds its objects already written.
 *
 * @param partition - from {@link partitionOf}
 * @param client - the client id the batch names
 * @param batch - the batch id
 * @param kind - rows or labels
 */
export const objectKey = (partition: string, client: string, batch: string, kind: LogKind): string => `${partition}${hash32(client).toString(36)}-${batch}.${kind}.ndjson.gz`;

/**
 * Each sub-prefix one level below `prefix` (R2 list with a `/` delimiter), in key order.
 *
 * @param bucket - the R2 bucket
 * @param prefix - a prefix ending in `/`
 */
export async function subPrefixes(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, delimiter: "/", cursor });
    out.push(...page.delimitedPrefixes);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}
