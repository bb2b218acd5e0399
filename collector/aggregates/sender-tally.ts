import type { Report } from "../../protocol/schema/report.ts";
import type { Reader, Writer } from "../../protocol/sketch/codec.ts";

/**
 * A report as the aggregator logs it: the wire report, the sender the collector attributed it
 * to, and the factors its weight and its labels were scaled by past that sender's budgets
 * (collector/ingest/sender-budget.ts). None comes from the client (the wire schema strips
 * unknown fields); reports logged before senders were tallied have none.
 */
export type AttributedReport = Report & {
  sender?: number;
  scale?: number;
  labelScale?: number;
  /**
   * What it adds to its sender's tally, when not its own mass (after scaling): a split report's
   * parts that came together weigh once, in the first part (collector/ingest/report-parts.ts).
   */
  weight?: number;
};

/** Senders a tally tracks by name; lighter ones are only bounded (Misra–Gries). */
export const SENDER_TALLY_SIZE = 64;

/**
 * The id of a sender: a 32-bit FNV-1a hash of the client's network (an IPv4 address or IPv6
 * /64, see collector/http/client-ip.ts), or of its client id when no address is known (a
 * request that did not come through Cloudflare or `wrangler dev`). Stored instead of the
 * address; two networks sharing a hash are counted as one sender, which only trims more.
 *
 * @param network - the sender's network, or `client:<id>`
 * @example
 * senderId("203.0.113.7") // 2843127521
 */
export function senderId(network: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < network.length; i++) {
    h ^= network.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * How much of a window's data each sender gave, bounded in size: the heaviest senders by name,
 * the rest only as a bound (Misra and Gries' mergeable summary). A report adds its mass — its
 * heaviest sketch's weight (see `Aggregate.fromReport`) — under its sender. Drift and alert
 * verdicts trim the heaviest sender's share ({@link SenderTally.heaviest}), so no one network
 * can steer them (docs/security.md).
 */
export class SenderTally {
  /** Mass per tracked sender: a lower bound of what it sent. */
  readonly weights = new Map<number, number>();
  /** Mass taken off every tracked sender when the tally was cut to size: the error bound. */
  slack = 0;

  /**
   * Adds mass under a sender.
   *
   * @param sender - the sender's id
   * @param mass - what it sent
   */
  add(sender: number, mass: number): this {
    if (mass <= 0) return this;
    this.weights.set(sender, (this.weights.get(sender) ?? 0) + mass);
    return this.cut();
  }

  /**
   * Folds another tally in (associative and commutative, as aggregates merge).
   *
   * @param other - a tally of other data
   */
  merge(other: SenderTally): this {
    for (const [sender, mass] of other.weights) this.weights.set(sender, (this.weights.get(sender) ?? 0) + mass);
    this.slack += other.slack;
    return this.cut();
  }

  /** An upper bound of the mass any one sender gave: the heaviest tracked one plus the error bound. */
  heaviest(): number {
    let most = 0;
    for (const mass of this.weights.values()) most = Math.max(most, mass);
    return most + this.slack;
  }

  /** Keeps the {@link SENDER_TALLY_SIZE} heaviest: subtracts the next one's mass from all. */
  private cut(): this {
    if (this.weights.size <= SENDER_TALLY_SIZE) return this;
    const cutoff = [...this.weights.values()].sort((a, b) => b - a)[SENDER_TALLY_SIZE]!;
    for (const [sender, mass] of this.weights) {
      if (mass <= cutoff) this.weights.delete(sender);
      else this.weights.set(sender, mass - cutoff);
    }
    this.slack += cutoff;
    return this;
  }

  /**
   * Writes the tally.
   *
   * @param w - the writer
   */
  write(w: Writer): void {
    w.varint(this.slack);
    w.varint(this.weights.size);
    for (const [sender, mass] of this.weights) {
      w.varint(sender);
      w.varint(mass);
    }
  }

  /**
   * Reads a tally {@link SenderTally.write} wrote.
   *
   * @param r - the reader
   */
  static read(r: Reader): SenderTally {
    const t = new SenderTally();
    t.slack = r.varint();
    const n = r.count(SENDER_TALLY_SIZE);
    for (let i = 0; i < n; i++) t.weights.set(r.varint(2 ** 32), r.varint());
    return t;
  }
}
