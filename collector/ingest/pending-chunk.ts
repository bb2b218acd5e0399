import type { Report } from "../../protocol/schema/report.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { type RowKey, rowId } from "../aggregates/rows.ts";

/** When a chunk of pending reports is flushed: the first limit reached closes it. */
export interface ChunkLimits {
  /** Estimated bytes the chunk holds (see {@link PendingChunk.bytes}). */
  bytes: number;
  /** Distinct (window, version, role, segment) keys: each becomes several stored rows. */
  keys: number;
}

/**
 * What a key of a chunk holds: the one report it has so far, as the JSON text it was logged
 * as, or the merged aggregate of two or more. A decoded aggregate of a wide model takes ~1.5 KB
 * a feature however few rows it holds (~330 KB for 220 features and 20 rows, against ~30 KB of
 * JSON), so a sparse backlog — one report per minute and segment — fits ten times more reports
 * per chunk as text, and so takes ten times fewer flushes.
 */
export type PendingSource = Aggregate | string;

/**
 * The aggregate of a pending source (a report's JSON is decoded: a new aggregate each call).
 *
 * @param source - a key's pending source
 */
export function sourceAggregate(source: PendingSource): Aggregate {
  return typeof source === "string" ? Aggregate.fromReport(JSON.parse(source) as Report) : source;
}

/**
 * Logged reports merged per filing window, version, role and segment: what one flush stores.
 * It is a cache of the durable log: the entries it holds are marked with its `id` before it is
 * written, and when it is lost the log is read again.
 */
export class PendingChunk {
  /** What each filing-window key holds, by {@link rowId}. */
  readonly deltas = new Map<string, { key: RowKey; source: PendingSource }>();
  /** Reports merged in. */
  reports = 0;
  /**
   * Estimated heap held: report JSON at a byte a character, merged aggregates by
   * {@link Aggregate.memoryBytes} as they are after each merge (a merged sketch stays about
   * the size of one: counting each merged report in full would close a chunk of a wide model
   * after ~50 reports and flush ten times as often).
   */
  bytes = 0;
  /** Its id: the largest log sequence number merged in (unique: stored entries are deleted). */
  id = 0;

  /** Whether nothing was merged in. */
  get empty(): boolean {
    return this.reports === 0;
  }

  /**
   * Adds one logged report.
   *
   * @param key - the report's filing window, version, role and full segment
   * @param json - the report as logged
   * @param aggregate - its aggregate, if already decoded (given up by the caller)
   * @param seq - its log sequence number
   */
  add(key: RowKey, json: string, aggregate: Aggregate | undefined, seq: number): void {
    const id = rowId(key);
    const mine = this.deltas.get(id);
    if (!mine) {
      this.deltas.set(id, { key, source: json });
      this.bytes += json.length;
    } else {
      if (typeof mine.source === "string") {
        this.bytes -= mine.source.length;
        mine.source = sourceAggregate(mine.source);
      } else {
        this.bytes -= mine.source.memoryBytes();
      }
      mine.source.absorb(aggregate ?? sourceAggregate(json));
      this.bytes += mine.source.memoryBytes();
    }
    this.reports++;
    this.id = Math.max(this.id, seq);
  }

  /**
   * Whether the chunk has reached a limit and should be flushed now. When the estimate is over
   * the byte limit, the merged aggregates first let go of their arrays' growth slack
   * ({@link Aggregate.shrink}: a 220-feature aggregate of a few hundred reports holds ~4.6 MB
   * as grown, ~1 MB after) and the estimate is taken again, so a chunk closes on what it
   * retains rather than on slack.
   *
   * @param limits - the object's chunk limits
   */
  full(limits: ChunkLimits): boolean {
    if (this.bytes >= limits.bytes) {
      this.bytes = 0;
      for (const { source } of this.deltas.values()) {
        if (typeof source === "string") this.bytes += source.length;
        else {
          source.shrink();
          this.bytes += source.memoryBytes();
        }
      }
    }
    return this.bytes >= limits.bytes || this.deltas.size >= limits.keys;
  }
}
