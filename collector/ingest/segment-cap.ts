import { DEVICE_SEGMENT_KEY } from "../../protocol/device-class.ts";
import { OTHER_VALUE } from "../aggregates/segments.ts";
import { DEFAULT_SEGMENT_MAX_KEYS, DEFAULT_SEGMENT_MAX_VALUES } from "../config.ts";
import { FrequentValues } from "./frequent-values.ts";

/** Limits of the segment cardinality cap. */
export interface SegmentLimits {
  /**
   * Distinct values admitted per segment key and model; other values report as `other`.
   * @defaultValue 50
   */
  values: number;
  /**
   * Distinct segment keys admitted per model; other keys are dropped from the segment.
   * @defaultValue 16
   */
  keys: number;
  /**
   * Milliseconds between writes of the report counts of admitted values to D1.
   * @defaultValue 60000
   */
  countMs?: number;
}

/** Default {@link SegmentLimits}. */
export const DEFAULT_SEGMENT_LIMITS: Required<SegmentLimits> = { values: DEFAULT_SEGMENT_MAX_VALUES, keys: DEFAULT_SEGMENT_MAX_KEYS, countMs: 60_000 };

/** What admitting a segment wrote. */
export interface CapResult {
  segment: Record<string, string>;
  /** D1 rows written to admit new values and count admitted ones. */
  rowsWritten: number;
}

/** Counts are kept per hour: a value's score is its reports this hour and the hour before. */
const EPOCH_MS = 3_600_000;
/** The admitted values are read again this often while reports come (a reset shows within it). */
const REFRESH_MS = 2_000;

/**
 * Keys the runtime sets on every report: never displaced, since device classes are judged
 * against the latency objectives and any app has them; junk keys from one sender, however
 * frequent, cannot take them away.
 */
const RUNTIME_KEYS: readonly string[] = ["backend", "backendReason", DEVICE_SEGMENT_KEY];

/** Score of a `segment_values` row in epoch `?E`: reports this hour and the hour before. */
const score = (e: string) => `(case when epoch = ${e} then hits + prev_hits when epoch = ${e} - 1 then hits else 0 end)`;

/**
 * Admits ?3 under key ?2 of model ?1 with ?6 reports counted in epoch ?5 — only while the key has
 * fewer than ?7 values and the key is admitted or the model has fewer than ?8 keys. One statement,
 * so both caps hold across shards.
 */
const ADMIT = `insert into segment_values (model, key, value, created_at, epoch, hits, prev_hits)
  select ?1, ?2, ?3, ?4, ?5, ?6, 0
  where (select count(*) from segment_values where model = ?1 and key = ?2) < ?7
    and (exists (select 1 from segment_values where model = ?1 and key = ?2)
      or (select count(distinct key) from segment_values where model = ?1) < ?8)
  on conflict (model, key, value) do nothing`;

/**
 * Makes room for ?3 (seen ?5 times this hour) under key ?2 of model ?1 when the key is full (?6
 * values): deletes its lowest-scored value (epoch ?4) if that scores below ?5. Runs in one batch
 * with {@link ADMIT}, which then takes the freed place.
 */
const DISPLACE = `delete from segment_values
  where model = ?1 and key = ?2
    and value = (select value from segment_values where model = ?1 and key = ?2 order by ${score("?4")} asc, created_at desc, value desc limit 1)
    and ${score("?4")} < ?5
    and (select count(*) from segment_values where model = ?1 and key = ?2) >= ?6
    and not exists (select 1 from segment_values where model = ?1 and key = ?2 and value = ?3)`;

/**
 * Makes room for key ?2 (seen in ?4 reports this hour) in model ?1 when the model has ?5 keys:
 * deletes every value of its lowest-scored key other than {@link RUNTIME_KEYS} (a key's score:
 * its values', summed) if that scores below ?4. Runs in one batch with {@link ADMIT}, which then
 * admits the key.
 */
const DISPLACE_KEY = `delete from segment_values
  where model = ?1
    and key = (select key from segment_values where model = ?1 and key not in (${RUNTIME_KEYS.map((k) => `'${k}'`).join(", ")}) group by key
      having sum(${score("?3")}) < ?4 order by sum(${score("?3")}) asc, max(created_at) desc, key desc limit 1)
    and (select count(distinct key) from segment_values where model = ?1) >= ?5
    and not exists (select 1 from segment_values where model = ?1 and key = ?2)`;

/** Adds ?5 reports in epoch ?4 to value ?3 of key ?2, model ?1 (a value reset meanwhile stays gone). */
const COUNT = `update segment_values set
    prev_hits = case when epoch = ?4 then prev_hits when epoch = ?4 - 1 then hits else 0 end,
    hits = (case when epoch = ?4 then hits else 0 end) + ?5,
    epoch = ?4
  where model = ?1 and key = ?2 and value = ?3`;

const READ = "select key, value, epoch, hits, prev_hits from segment_values where model = ?";

interface ValueRow {
  key: string;
  value: string;
  epoch: number;
  hits: number;
  prev_hits: number;
}

/**
 * The cardinality cap of one model's segments, for one aggregator object. Admitted values live
 * in D1 (`segment_values`), at most `values` per key and `keys` per model, each checked in the
 * statement that inserts, so the caps hold across shards. While a key has room, a new value is
 * admitted at once. When it is full, values over the cap report as `other` and are counted in
 * memory (Misra–Gries, {@link FrequentValues}); a value seen more often this hour than the
 * lowest-scored admitted value (its reports this hour and the hour before) displaces it. So junk
 * seen once scores 1 and is displaced by any value seen twice, and within two hours it scores 0.
 * Keys over the key cap are dropped from the segment and counted the same way; a key seen more
 * often this hour than the lowest-scored admitted key (its values' scores summed) displaces it,
 * so junk keys sent once cannot keep an app's real keys out for good; the keys the runtime sets
 * ({@link RUNTIME_KEYS}) are never displaced.
 * D1 is read at most every 2 s while reports come (and written only to admit, displace, or add
 * counts every `countMs`), never per report.
 */
export class SegmentCap {
  private readonly limits: Required<SegmentLimits>;
  /** Admitted values by key, with their scores as last read. */
  private admitted = new Map<string, Map<string, number>>();
  /** Reports of admitted values not yet counted in D1. */
  private hits = new Map<string, Map<string, number>>();
  /** Values over the cap, counted this hour. */
  private readonly candidates = new Map<string, FrequentValues>();
  /** Keys over the key cap, counted this hour, and a value of each (admitted with the key). */
  private readonly candidateKeys: FrequentValues;
  private readonly keyValues = new Map<string, string>();
  private epoch = 0;
  private syncedAt = 0;
  private countedAt = Date.now();
  private syncing: Promise<number> | undefined;
  private loaded: Promise<number> | undefined;

  /**
   * @param db - the D1 database
   * @param model - the model
   * @param limits - values per key, keys per model, count period
   */
  constructor(
    private readonly db: D1Database,
    private readonly model: string,
    limits: SegmentLimits = DEFAULT_SEGMENT_LIMITS,
  ) {
    this.limits = { ...DEFAULT_SEGMENT_LIMITS, ...limits };
    this.candidateKeys = new FrequentValues(this.limits.keys);
  }

  /**
   * The segment with values over the cap replaced by `other` and keys over the cap dropped (and
   * values made well-formed text); also counts the report's values.
   *
   * @param segment - a report's segment
   */
  async admit(segment: Readonly<Record<string, string>>): Promise<CapResult> {
    try {
      await (this.loaded ??= this.sync(Date.now()));
    } catch (err) {
      this.loaded = undefined;
      throw err;
    }
    const now = Date.now();
    let rowsWritten = now - this.syncedAt >= REFRESH_MS ? await this.syncOnce(now) : 0;
    const out: Record<string, string> = {};
    for (const [key, sent] of Object.entries(segment)) {
      // as D1 stores it and reads it back: D1 writes a lone surrogate as bytes it reads back as
      // other text, so the value as sent never matched an admitted one (each report of it asked D1
      // to admit it again, and it reported as `other`)
      const value = sent.toWellFormed();
      const values = this.admitted.get(key);
      if (values?.has(value)) {
        out[key] = value;
        const counts = this.hits.get(key) ?? this.hits.set(key, new Map()).get(key)!;
        counts.set(value, (counts.get(value) ?? 0) + 1);
        continue;
      }
      if (!values && this.admitted.size >= this.limits.keys) {
        this.candidateKeys.add(key);
        if (this.candidateKeys.has(key)) this.keyValues.set(key, value);
        continue;
      }
      if ((values?.size ?? 0) < this.limits.values) {
        rowsWritten += await this.tryAdmit(key, value, now);
        if (!this.admitted.has(key)) continue; // the key cap was reached by another shard
        if (this.admitted.get(key)!.has(value)) {
          out[key] = value;
          continue;
        }
      }
      (this.candidates.get(key) ?? this.candidates.set(key, new FrequentValues(this.limits.values)).get(key)!).add(value);
      out[key] = OTHER_VALUE;
    }
    return { segment: out, rowsWritten };
  }

  /** One sync at a time; its rows are reported by the call that ran it. A failed sync is logged and retried later. */
  private async syncOnce(now: number): Promise<number> {
    if (this.syncing) {
      await this.syncing;
      return 0;
    }
    this.syncing = this.sync(now)
      .catch((err) => {
        console.error("segment cap sync failed; retrying", err);
        return 0;
      })
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Writes counts (when due) and displacements, then reads the admitted values back. */
  private async sync(now: number): Promise<number> {
    this.syncedAt = now;
    const epoch = Math.floor(now / EPOCH_MS);
    if (epoch !== this.epoch) {
      this.candidates.clear();
      this.candidateKeys.clear();
    }
    this.epoch = epoch;
    for (const key of this.keyValues.keys()) if (!this.candidateKeys.has(key)) this.keyValues.delete(key);
    const displace: D1PreparedStatement[] = [];
    const tried: [key: string, value: string][] = [];
    for (const [key, candidates] of this.candidates) {
      const floor = this.floor(key);
      for (const [value, n] of candidates.top()) {
        if (n <= floor) break;
        displace.push(
          this.db.prepare(DISPLACE).bind(this.model, key, value, epoch, n, this.limits.values),
          this.db.prepare(ADMIT).bind(this.model, key, value, now, epoch, n, this.limits.values, this.limits.keys),
        );
        tried.push([key, value]);
      }
    }
    // one key a sync: each displacement changes the lowest score
    const [key, n] = this.candidateKeys.top()[0] ?? [];
    if (key !== undefined && n! > this.keyFloor()) {
      displace.push(
        this.db.prepare(DISPLACE_KEY).bind(this.model, key, epoch, n, this.limits.keys),
        this.db.prepare(ADMIT).bind(this.model, key, this.keyValues.get(key)!, now, epoch, n, this.limits.values, this.limits.keys),
      );
    }
    // counts go first when anything may be displaced, so a value is judged by all its reports
    const counts: D1PreparedStatement[] = [];
    if (displace.length > 0 || now - this.countedAt >= this.limits.countMs) {
      for (const [key, values] of this.hits) for (const [value, n] of values) counts.push(this.db.prepare(COUNT).bind(this.model, key, value, epoch, n));
      this.hits = new Map();
      this.countedAt = now;
    }
    const writes = [...counts, ...displace];
    const results = await this.db.batch([...writes, this.db.prepare(READ).bind(this.model)]);
    this.remember(results.at(-1)!.results as ValueRow[], epoch);
    for (const [key, value] of tried) if (this.admitted.get(key)?.has(value)) this.candidates.get(key)!.delete(value);
    if (key !== undefined && this.admitted.has(key)) this.candidateKeys.delete(key);
    return results.slice(0, -1).reduce((n, r) => n + (r.meta.rows_written ?? 0), 0);
  }

  /** The score a candidate must beat to displace a value of `key`: 0 while the key has room, never for a key over the key cap. */
  private floor(key: string): number {
    const values = this.admitted.get(key);
    if (!values) return this.admitted.size >= this.limits.keys ? Infinity : 0;
    if (values.size < this.limits.values) return 0;
    return Math.min(...values.values());
  }

  /** The score a candidate key must beat to displace an admitted one: 0 while the model has room for keys, never when all are {@link RUNTIME_KEYS}. */
  private keyFloor(): number {
    if (this.admitted.size < this.limits.keys) return 0;
    const displaceable = [...this.admitted].filter(([key]) => !RUNTIME_KEYS.includes(key));
    return Math.min(...displaceable.map(([, values]) => [...values.values()].reduce((a, b) => a + b, 0)));
  }

  private async tryAdmit(key: string, value: string, now: number): Promise<number> {
    const epoch = Math.floor(now / EPOCH_MS);
    const [insert, read] = await this.db.batch([this.db.prepare(ADMIT).bind(this.model, key, value, now, epoch, 1, this.limits.values, this.limits.keys), this.db.prepare(READ).bind(this.model)]);
    this.remember(read!.results as ValueRow[], epoch);
    return insert!.meta.rows_written ?? 0;
  }

  private remember(rows: readonly ValueRow[], epoch: number): void {
    const admitted = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const s = r.epoch === epoch ? r.hits + r.prev_hits : r.epoch === epoch - 1 ? r.hits : 0;
      (admitted.get(r.key) ?? admitted.set(r.key, new Map()).get(r.key)!).set(r.value, s);
    }
    this.admitted = admitted;
  }
}
