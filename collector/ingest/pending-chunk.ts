import type { Aggregate } from "./aggregate.ts";
import { type RowDelta, type RowKey, rowId } from "./rows.ts";

/** When a chunk of pending reports is flushed: the first limit reached closes it. */
export interface ChunkLimits {
  /** Estimated bytes of its merged aggregates ({@link Aggregate.memoryBytes}). */
  bytes: number;
  /** Distinct (window, version, role, segment) keys: each becomes several stored rows. */
  keys: number;
}

/**
 * Reports of a contiguous stretch of an aggregator's log, merged per filing window, version,
 * role and segment. It is a cache of the durable log: flushing it stores exactly the log
 * entries up to `lastSeq`, and when it is lost the log is read again.
 */
export class PendingChunk {
  /** Merged aggregates by {@link rowId} of their filing-window key. */
  readonly deltas = new Map<string, RowDelta>();
  /** Reports merged in. */
  reports = 0;
  /** Estimated heap of the merged aggregates: the sum of what each report brought, an upper bound. */
  bytes = 0;
  /** The last log sequence number merged in. */
  lastSeq = 0;

  /** Whether nothing was merged in. */
  get empty(): boolean {
    return this.reports === 0;
  }

  /**
   * Merges one logged report in, taking its aggregate over.
   *
   * @param key - the report's filing window, version, role and full segment
   * @param aggregate - the report's aggregate (given up by the caller)
   * @param seq - its log sequence number
   */
  add(key: RowKey, aggregate: Aggregate, seq: number): void {
    this.bytes += aggregate.memoryBytes();
    const id = rowId(key);
    const mine = this.deltas.get(id);
    if (mine) mine.aggregate.absorb(aggregate);
    else this.deltas.set(id, { key, aggregate });
    this.reports += aggregate.reports;
    this.lastSeq = seq;
  }

  /**
   * Whether the chunk has reached a limit and should be flushed now.
   *
   * @param limits - the object's chunk limits
   */
  full(limits: ChunkLimits): boolean {
    return this.bytes >= limits.bytes || this.deltas.size >= limits.keys;
  }
}
