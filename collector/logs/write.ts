import type { LogBatch } from "../../protocol/schema/prediction-log.ts";
import { gzipNdjson } from "./ndjson-gzip.ts";
import { type LogKind, objectKey, partitionOf } from "./partition.ts";

/**
 * Writes a checked batch to R2: per partition (the model's key, the row's version, the day of its
 * prediction) one object of its rows and one of its labels, gzip-compressed NDJSON. Objects are
 * written only when absent, so a retried batch writes nothing twice and no batch can replace
 * another's objects. Each object's custom metadata holds its number of lines (`entries`, which
 * export pages are bounded by), and the first object's the batch's `dropped` count.
 *
 * @param bucket - the R2 bucket
 * @param model - the model's key (the batch names the model by its name)
 * @param batch - the batch, checked by the route (model, versions, times, inputs)
 */
export async function writeLogBatch(bucket: R2Bucket, model: string, batch: LogBatch): Promise<void> {
  const groups = new Map<string, unknown[]>();
  const add = (kind: LogKind, version: number, t: number, value: unknown) => {
    const key = objectKey(partitionOf(model, version, t), batch.client, batch.id, kind);
    const group = groups.get(key) ?? groups.set(key, []).get(key)!;
    group.push(value);
  };
  for (const row of batch.rows) add("rows", row.version, row.t, row);
  for (const label of batch.labels) add("labels", label.version, label.t, label);
  const first = firstObjectKey(model, batch);
  for (const [key, values] of groups) {
    const metadata = { entries: String(values.length), ...(key === first && batch.dropped ? { dropped: String(batch.dropped) } : {}) };
    if (await bucket.head(key)) continue;
    await bucket.put(key, await gzipNdjson(values), { httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" }, customMetadata: metadata });
  }
}

/** The key of a batch's first object, the one holding its `dropped`: its first row's, else its first label's. */
function firstObjectKey(model: string, batch: LogBatch): string | undefined {
  const [kind, e] = batch.rows[0] ? (["rows", batch.rows[0]] as const) : (["labels", batch.labels[0]] as const);
  return e && objectKey(partitionOf(model, e.version, e.t), batch.client, batch.id, kind);
}

/**
 * Whether a batch of this id and client was written: its first object (the one holding its
 * `dropped`) is in R2. A written batch sent again after its rows aged past the limit, after the
 * rollout moved on or after logging was turned off (its answer lost), is then answered as written:
 * refused, the device would count its rows as dropped too.
 *
 * @param bucket - the R2 bucket
 * @param model - the model's key
 * @param batch - the parsed batch
 */
export async function logBatchWritten(bucket: R2Bucket, model: string, batch: LogBatch): Promise<boolean> {
  const key = firstObjectKey(model, batch);
  return !!key && !!(await bucket.head(key));
}
