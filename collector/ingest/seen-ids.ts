import { keepNewest } from "./row-cap.ts";
import { DEDUPE_MS } from "./sender-budget.ts";

/**
 * The ids of the reports an aggregator object has logged, in its SQLite storage, so that a
 * report sent again is counted once (`POST /v1/reports` answers it `duplicate`). An id is kept
 * until {@link DEDUPE_MS} past its `at` (a carrier's `at` is set later: stale-carrier.ts), and at
 * most `most` ids are kept: past that, each new id lets the oldest logged one go. So no sender,
 * however many reports of fresh ids it gets past the rate limits with the public ingest key, can
 * fill the object's storage and stop its ingest; a report whose id was let go early is counted
 * again if it is ever sent again (docs/ingest.md "Exactly once").
 */
export class SeenIds {
  /**
   * @param sql - the object's storage
   * @param most - the most ids kept (`DEDUPE_MAX_IDS`)
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly most: number,
  ) {
    sql.exec(`create table if not exists seen (id text primary key, at integer not null);
      create index if not exists seen_at on seen (at);`);
  }

  /**
   * Whether a report of this id was logged (and its id is still kept).
   *
   * @param id - the report's id
   */
  has(id: string): boolean {
    return this.sql.exec("select 1 from seen where id = ?", id).toArray().length > 0;
  }

  /**
   * Keeps an id (in the caller's transaction, with the report's log entry), letting the oldest
   * logged one go when `most` are kept already.
   *
   * @param id - the report's id
   * @param at - kept until `at` + {@link DEDUPE_MS}
   * @returns how many ids were let go before their time (0 or 1)
   */
  add(id: string, at: number): number {
    const { rowid } = this.sql.exec<{ rowid: number }>("insert into seen (id, at) values (?, ?) returning rowid", id, at).one();
    return keepNewest(this.sql, "seen", rowid, this.most);
  }

  /**
   * Lets the ids past their time go.
   *
   * @param now - the time
   */
  prune(now: number): void {
    this.sql.exec("delete from seen where at < ?", now - DEDUPE_MS);
  }

  /** How many ids are kept. */
  count(): number {
    return this.sql.exec<{ n: number }>("select count(*) as n from seen").one().n;
  }
}
