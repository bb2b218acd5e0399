import type { RowKey } from "../aggregates/rows.ts";
import { keepNewest } from "./row-cap.ts";

const MINUTES: Readonly<Record<RowKey["granularity"], number>> = { minute: 1, hour: 60, day: 1_440 };

/** A report may start at most this far back (the runtime drops what it queued past a day); the aggregator refuses older ones. */
export const MAX_REPORT_AGE_MS = 2 * 86_400_000;

/** A report may start, and end, at most this far in the future (clock skew). */
export const MAX_FUTURE_MS = 86_400_000;

/** Report ids are remembered this long for deduplication. @defaultValue 7 days */
export const DEDUPE_MS = 7 * 86_400_000;

/**
 * Budgets are kept this long after their window began, then forgotten: as long as a report may
 * still be filed in the window (a day window begins less than a day before a report's start),
 * so no budget is spent twice.
 */
const KEEP_MS = MAX_REPORT_AGE_MS + 86_400_000;

/**
 * How much each sender has weighed in each filing window, in an aggregator's SQLite storage,
 * and the factor by which a report past its sender's budget is scaled down. A sender's data
 * keeps its shape but weighs at most the budget, so no sender can outweigh the fleet by
 * sending more (or heavier) reports, and a window's sketches keep the resolution of everyone
 * else's data (a quantile sketch's error grows with its total weight). Spending is written in
 * the transaction that logs the report, so a replay after a restart scales it the same way.
 */
export class SenderBudget {
  /**
   * @param sql - the aggregator's storage
   * @param perMinute - the budget per minute of a window
   * @param most - the most budgets kept (`SENDER_BUDGET_MAX_ROWS`)
   * @param table - the table that keeps the spending: `sender_mass` for the weight of what verdicts read, `sender_labels` for labels
   * @defaultValue table "sender_mass"
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly perMinute: number,
    private readonly most: number,
    private readonly table: "sender_mass" | "sender_labels" = "sender_mass",
  ) {
    sql.exec(`create table if not exists ${table} (window text not null, sender integer not null, mass real not null,
      at integer not null, primary key (window, sender));
      create index if not exists ${table}_at on ${table} (at);`);
  }

  /**
   * The factor a report's weight is scaled by: 1 within its sender's budget, else what is left
   * of the budget over its weight (0 once spent).
   *
   * @param window - the report's filing window
   * @param sender - its sender
   * @param mass - its weight
   */
  factor(window: Pick<RowKey, "granularity" | "windowStart">, sender: number, mass: number): number {
    if (mass <= 0) return 1;
    const left = this.perMinute * MINUTES[window.granularity] - this.spent(window, sender);
    return left >= mass ? 1 : Math.max(0, left) / mass;
  }

  /**
   * Records what a logged report weighed after scaling (call inside the logging transaction),
   * letting the oldest budget written go when `most` are kept already.
   *
   * @param window - the report's filing window
   * @param sender - its sender
   * @param mass - its weight after scaling
   */
  spend(window: Pick<RowKey, "granularity" | "windowStart">, sender: number, mass: number): void {
    if (mass <= 0) return;
    const { rowid } = this.sql
      .exec<{ rowid: number }>(
        `insert into ${this.table} (window, sender, mass, at) values (?, ?, ?, ?) on conflict (window, sender) do update set mass = mass + excluded.mass returning rowid`,
        windowId(window),
        sender,
        mass,
        window.windowStart,
      )
      .one();
    keepNewest(this.sql, this.table, rowid, this.most);
  }

  /**
   * Forgets budgets of windows that began long enough before `now`.
   *
   * @param now - epoch ms
   */
  prune(now: number): void {
    this.sql.exec(`delete from ${this.table} where at < ?`, now - KEEP_MS);
  }

  private spent(window: Pick<RowKey, "granularity" | "windowStart">, sender: number): number {
    const row = this.sql.exec<{ mass: number }>(`select mass from ${this.table} where window = ? and sender = ?`, windowId(window), sender).toArray()[0];
    return row?.mass ?? 0;
  }
}

function windowId(window: Pick<RowKey, "granularity" | "windowStart">): string {
  return `${window.granularity}:${window.windowStart}`;
}
