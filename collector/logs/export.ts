import { LIMITS } from "../../protocol/limits.ts";
import { printableJson } from "../../protocol/printable.ts";
import type { LogLabel, LogRow } from "../../protocol/schema/prediction-log.ts";
import { readGzipNdjson } from "./ndjson-gzip.ts";
import { dayOf, modelPrefix, subPrefixes } from "./partition.ts";

/** What an export reads. */
export interface ExportQuery {
  /** The model's key. */
  model: string;
  /** Only this version; all when undefined. */
  version?: number;
  /** Rows predicted at or after, epoch ms. */
  from: number;
  /** Rows predicted before, epoch ms. */
  to: number;
}

/** The objects of one partition (a version's day). */
interface Partition {
  rows: string[];
  labels: string[];
}

/** The partitions one export (a page) reads, oldest day first, and the rows the devices said they dropped. */
export interface ExportPlan {
  partitions: Partition[];
  dropped: number;
  /** The last object this page reads, where the next page starts (`after`); undefined on the last page. */
  next?: string | undefined;
}

/** An object a page reads. */
/**
 * Rows and labels one export page reads at most: a page holds the ids of its rows and its labels'
 * ids and values (at most 64 and 128 characters) in memory while it is written, ~30 MB at this
 * bound. Objects written without their count (before it was kept) count as a full batch.
 */
const LOG_EXPORT_MAX_ENTRIES = 100_000;

interface Taken {
  partition: string;
  key: string;
  /** Its rows or labels. */
  entries: number;
  /** The client's part of the key: a client's objects of one partition are one run of keys. */
  client: string;
  dropped: number;
}

/** The day of a partition (`logs/<model>/<version>/<day>/`). */
const dayOfPartition = (partition: string): string => partition.split("/").at(-2)!;

/** What pages walk partitions in: day, then partition. */
const orderOf = (partition: string): string => `${dayOfPartition(partition)} ${partition}`;

/** The partitions of the range, in {@link orderOf} order. */
async function partitionsOf(bucket: R2Bucket, q: ExportQuery): Promise<string[]> {
  const prefix = modelPrefix(q.model);
  const versions = q.version === undefined ? await subPrefixes(bucket, prefix) : [`${prefix}${q.version}/`];
  const first = dayOf(q.from);
  const last = dayOf(q.to - 1);
  const out: string[] = [];
  for (const version of versions)
    for (const partition of await subPrefixes(bucket, version)) {
      const day = dayOfPartition(partition);
      if (day >= first && day <= last) out.push(partition);
    }
  return out.sort((a, b) => (orderOf(a) < orderOf(b) ? -1 : 1));
}

/**
 * Plans one page of an export: the objects of each version's partitions whose day overlaps the
 * range, oldest day first, at most `maxObjects` (collector/config.ts `logExportMaxObjects`)
 * holding at most `maxEntries` rows and labels (so no sender's full batches fill its memory). A
 * page ends between two clients' objects, so every label is read with the rows it belongs to
 * (a client labels only its own rows) and each row is written once; `next` says where the next
 * page starts. One client's objects of one partition that are more than `maxObjects` are split
 * between pages (see {@link endAtClient}).
 *
 * @param bucket - the R2 bucket
 * @param q - model, version and range
 * @param maxObjects - objects one page may read
 * @param after - the `next` of the page before (an object key of this model's logs)
 * @param maxEntries - rows and labels one page may hold
 * @defaultValue maxEntries {@link LOG_EXPORT_MAX_ENTRIES}
 */
export async function planExport(bucket: R2Bucket, q: ExportQuery, maxObjects: number, after?: string, maxEntries = LOG_EXPORT_MAX_ENTRIES): Promise<ExportPlan> {
  const resume = after && { partition: after.slice(0, after.lastIndexOf("/") + 1), key: after };
  const resumeOrder = resume ? orderOf(resume.partition) : "";
  const taken: Taken[] = [];
  let entries = 0;
  let next: string | undefined;
  walk: for (const prefix of await partitionsOf(bucket, q)) {
    if (orderOf(prefix) < resumeOrder) continue;
    let cursor: string | undefined;
    const startAfter = resume && prefix === resume.partition ? resume.key : undefined;
    do {
      // `include` is R2's (workerd has it); this version of @cloudflare/workers-types lacks it
      const page = await bucket.list({ prefix, cursor, startAfter: cursor ? undefined : startAfter, include: ["customMetadata"] } as R2ListOptions);
      for (const o of page.objects) {
        const rest = o.key.slice(prefix.length);
        const object: Taken = {
          partition: prefix,
          key: o.key,
          entries: Number(o.customMetadata?.entries) || LIMITS.logRowsPerBatch,
          client: rest.slice(0, rest.indexOf("-")),
          dropped: Number(o.customMetadata?.dropped ?? 0) || 0,
        };
        if (taken.length === maxObjects || (taken.length > 0 && entries + object.entries > maxEntries)) {
          next = endAtClient(taken, object);
          break walk;
        }
        taken.push(object);
        entries += object.entries;
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  const partitions = new Map<string, Partition>();
  for (const { partition, key } of taken) {
    const p = partitions.get(partition) ?? partitions.set(partition, { rows: [], labels: [] }).get(partition)!;
    (key.endsWith(".labels.ndjson.gz") ? p.labels : p.rows).push(key);
  }
  return { partitions: [...partitions.values()], dropped: taken.reduce((sum, t) => sum + t.dropped, 0), next };
}

/**
 * Ends a full page between two clients: drops the objects of the client that `following` (the
 * first object past the page) continues, and answers the last key kept. A page holding only that
 * client's objects (one client id's objects of one partition are more than a page) ends there,
 * inside its run: that client's labels in another page are not joined to its rows, but no sender
 * can make the rest of the partition unexportable by writing more objects than a page reads.
 */
function endAtClient(taken: Taken[], following: Taken): string {
  const sameClient = (t: Taken | undefined) => t?.partition === following.partition && t.client === following.client;
  let end = taken.length;
  while (end > 0 && sameClient(taken[end - 1])) end--;
  if (end > 0) taken.length = end;
  return taken.at(-1)!.key;
}

/**
 * The rows of a planned export as NDJSON, partition by partition: each predicted row once (a row
 * id seen twice in a partition is written once), within the range, with the label fed back
 * (from the row itself, or a label sent later). Holds one partition's labels and row ids in
 * memory, never its rows. A stored line that cannot be read is skipped and logged.
 *
 * @param bucket - the R2 bucket
 * @param plan - from {@link planExport}
 * @param q - the range (rows outside it are left out)
 */
export function exportRows(bucket: R2Bucket, plan: ExportPlan, q: ExportQuery): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const bad = { lines: 0 };
  async function* lines(): AsyncGenerator<string> {
    for (const partition of plan.partitions) {
      const labels = new Map<string, LogLabel["actual"]>();
      for (const key of partition.labels) {
        const object = await bucket.get(key);
        if (object) for await (const v of readGzipNdjson(object.body, bad)) labels.set((v as LogLabel).id, (v as LogLabel).actual);
      }
      const seen = new Set<string>();
      for (const key of partition.rows) {
        const object = await bucket.get(key);
        if (!object) continue;
        for await (const v of readGzipNdjson(object.body, bad)) {
          const row = v as LogRow;
          if (!(row.t >= q.from && row.t < q.to) || seen.has(row.id)) continue;
          seen.add(row.id);
          const actual = row.actual ?? labels.get(row.id);
          // printed as is by `driftline logs export` (to a terminal by default): no raw C1 controls
          yield `${printableJson(actual === undefined ? row : { ...row, actual })}\n`;
        }
      }
    }
  }
  const it = lines();
  return new ReadableStream({
    async pull(controller) {
      const next = await it.next();
      if (!next.done) return controller.enqueue(encoder.encode(next.value));
      if (bad.lines) console.error(`log export of ${q.model}: skipped ${bad.lines} unreadable stored lines`);
      controller.close();
    },
  });
}
