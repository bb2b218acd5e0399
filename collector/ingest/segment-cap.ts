import { OTHER_VALUE } from "./segments.ts";

/** Limits of the segment cardinality cap. */
export interface SegmentLimits {
  /**
   * Distinct values kept per segment key and model; later values become `other`.
   * @defaultValue 50
   */
  values: number;
  /**
   * Distinct segment keys kept per model; later keys are dropped from the segment.
   * @defaultValue 16
   */
  keys: number;
}

/** Default {@link SegmentLimits}. */
export const DEFAULT_SEGMENT_LIMITS: SegmentLimits = { values: 50, keys: 16 };

/** What admitting new segment values wrote. */
export interface CapResult {
  segment: Record<string, string>;
  /** D1 rows written to admit new values. */
  rowsWritten: number;
}

/**
 * The cardinality cap of one model's segments. Admitted values live in D1
 * (`segment_values`); a value is admitted by one conditional insert that checks the count in
 * the same statement, so the cap holds across shards. Known values are cached in memory, so
 * D1 is only asked about values not seen before.
 */
export class SegmentCap {
  private readonly known = new Map<string, Set<string>>();
  private loaded: Promise<void> | undefined;

  /**
   * @param db - the D1 database
   * @param model - the model
   * @param limits - values per key and keys per model
   */
  constructor(
    private readonly db: D1Database,
    private readonly model: string,
    private readonly limits: SegmentLimits = DEFAULT_SEGMENT_LIMITS,
  ) {}

  /**
   * The segment with values over the cap replaced by `other` and keys over the cap dropped.
   *
   * @param segment - a report's segment
   */
  async admit(segment: Readonly<Record<string, string>>): Promise<CapResult> {
    await (this.loaded ??= this.load());
    const out: Record<string, string> = {};
    let rowsWritten = 0;
    for (const [key, value] of Object.entries(segment)) {
      const values = this.known.get(key);
      if (values?.has(value)) out[key] = value;
      else if (!values && this.known.size >= this.limits.keys) continue;
      else if ((values?.size ?? 0) >= this.limits.values) out[key] = OTHER_VALUE;
      else {
        const written = await this.tryAdmit(key, value);
        rowsWritten += written;
        out[key] = this.known.get(key)?.has(value) ? value : OTHER_VALUE;
      }
    }
    return { segment: out, rowsWritten };
  }

  private async load(): Promise<void> {
    const rows = await this.db.prepare("select key, value from segment_values where model = ?").bind(this.model).all<{ key: string; value: string }>();
    for (const r of rows.results) this.remember(r.key, r.value);
  }

  private remember(key: string, value: string): void {
    let values = this.known.get(key);
    if (!values) this.known.set(key, (values = new Set()));
    values.add(value);
  }

  private async tryAdmit(key: string, value: string): Promise<number> {
    const insert = await this.db
      .prepare(
        `insert or ignore into segment_values (model, key, value, created_at)
         select ?1, ?2, ?3, ?4 where (select count(*) from segment_values where model = ?1 and key = ?2) < ?5`,
      )
      .bind(this.model, key, value, Date.now(), this.limits.values)
      .run();
    const rows = await this.db.prepare("select value from segment_values where model = ? and key = ?").bind(this.model, key).all<{ value: string }>();
    for (const r of rows.results) this.remember(key, r.value);
    return insert.meta.rows_written ?? 0;
  }
}
