import { printableJson } from "../../protocol/printable.ts";
import type { LogLabel, LogRow } from "../../protocol/schema/prediction-log.ts";
import { ApiError } from "../errors.ts";
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

/** The partitions `q` reads, oldest day first, and the rows the devices said they dropped. */
export interface ExportPlan {
  partitions: Partition[];
  dropped: number;
}

/**
 * Lists the objects an export reads: each version's partitions whose day overlaps the range.
 * Throws 400 `limit_exceeded` past `maxObjects` (collector/config.ts `logExportMaxObjects`).
 *
 * @param bucket - the R2 bucket
 * @param q - model, version and range
 * @param maxObjects - objects one export may read
 */
export async function planExport(bucket: R2Bucket, q: ExportQuery, maxObjects: number): Promise<ExportPlan> {
  const prefix = modelPrefix(q.model);
  const versions = q.version === undefined ? await subPrefixes(bucket, prefix) : [`${prefix}${q.version}/`];
  const first = dayOf(q.from);
  const last = dayOf(q.to - 1);
  const days = new Map<string, Partition[]>();
  let objects = 0;
  let dropped = 0;
  for (const version of versions) {
    for (const day of await subPrefixes(bucket, version)) {
      const name = day.slice(version.length, -1);
      if (name < first || name > last) continue;
      const partition: Partition = { rows: [], labels: [] };
      let cursor: string | undefined;
      do {
        // `include` is R2's (workerd has it); this version of @cloudflare/workers-types lacks it
        const page = await bucket.list({ prefix: day, cursor, include: ["customMetadata"] } as R2ListOptions);
        for (const o of page.objects) {
          if (++objects > maxObjects) throw new ApiError(400, "limit_exceeded", `the range holds more than ${maxObjects} log objects; export fewer days or one version`);
          (o.key.endsWith(".labels.ndjson.gz") ? partition.labels : partition.rows).push(o.key);
          dropped += Number(o.customMetadata?.dropped ?? 0) || 0;
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      days.set(name, [...(days.get(name) ?? []), partition]);
    }
  }
  const partitions = [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([, p]) => p);
  return { partitions, dropped };
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
