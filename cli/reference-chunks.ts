import { type Chunk, type FeatureCalibration, calibrateFeature } from "../protocol/drift/calibration.ts";
import type { Calibration } from "../protocol/schema/profile.ts";
import type { Feature } from "../protocol/schema/manifest.ts";
import { CategoricalSketch, type FeatureSketch, NumericSketch } from "../protocol/sketch/index.ts";
import { CliError } from "./args.ts";
import { seededRandom } from "../protocol/seeded-random.ts";
import type { Cell } from "./tables/index.ts";

/** How `driftline profile --calibrate` cuts the reference into chunks. */
export interface ChunkOptions {
  /** A column to cut by: one chunk per value (or per `period` of a date). */
  by?: string;
  /** With `by` a date column: one chunk per year, month, ISO week or day. */
  period?: "year" | "month" | "week" | "day";
  /** Chunks of this many consecutive rows (NannyML's size-based chunks). */
  size?: number;
}

/** Random chunks per deal: each deal draws every row into one of them. */
export const RANDOM_CHUNKS = 10;
/** Deals of the rows into random chunks: 40 samples of the sampling noise. */
export const RANDOM_DEALS = 4;
/** Most chunks by time or in order. */
export const MAX_ORDERED_CHUNKS = 1000;
/** Reference bins the calibration's PSI and JS use (the collector's default). */
export const CALIBRATION_BINS = 10;

/** A column's rows per chunk: numeric sketches, or category counts (sketched once the categories are known). */
type ColumnChunks =
  | { kind: "numeric"; random: NumericSketch[]; ordered: Map<string, NumericSketch> }
  | { kind: "categorical"; random: Map<string, number>[]; ordered: Map<string, Map<string, number>> };

/**
 * The reference's rows dealt into chunks while `driftline profile` reads them: random chunks
 * (each row into one of {@link RANDOM_CHUNKS}, {@link RANDOM_DEALS} times over, from a seeded
 * generator, so a profile is reproducible) and chunks by a column's value or period, or by
 * consecutive rows. At the end it calibrates every feature (protocol/drift/calibration.ts).
 */
export class ReferenceChunker {
  private readonly columns = new Map<string, ColumnChunks>();
  private readonly next = seededRandom();
  private rowIndex = 0;
  private orderedKeys = new Set<string>();
  private dealt: number[] = [];
  private keys: (string | null)[] = [];

  /**
   * @param options - how to cut ordered chunks
   * @param byAt - the chunk column's place in a row (with `options.by`)
   */
  constructor(
    private readonly options: ChunkOptions,
    private readonly byAt: number | undefined,
  ) {}

  /**
   * Deals a batch of rows: call once per batch before {@link numeric} and {@link categorical}.
   *
   * @param rows - the batch
   * @param where - a row's place in the file, for errors
   */
  deal(rows: Cell[][], where: (r: number) => string): void {
    this.dealt = new Array<number>(rows.length * RANDOM_DEALS);
    this.keys = new Array<string | null>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      for (let d = 0; d < RANDOM_DEALS; d++) this.dealt[r * RANDOM_DEALS + d] = d * RANDOM_CHUNKS + Math.floor(this.next() * RANDOM_CHUNKS);
      const key = this.orderedKey(rows[r]!, this.rowIndex + r, where(r));
      this.keys[r] = key;
      if (key !== null && !this.orderedKeys.has(key)) {
        this.orderedKeys.add(key);
        if (this.orderedKeys.size > MAX_ORDERED_CHUNKS) throw new CliError(`more than ${MAX_ORDERED_CHUNKS} chunks: choose a longer --chunk-period or a larger --chunk-size`);
      }
    }
    this.rowIndex += rows.length;
  }

  /**
   * Adds a numeric value of row `r` of the dealt batch, as the reference sketch took it.
   *
   * @param column - the column's name
   * @param r - the row in the batch
   * @param value - the value (null when missing)
   * @param recorded - the value as recorded (blurred)
   */
  numeric(column: string, r: number, value: number | null, recorded: number | null): void {
    let chunks = this.columns.get(column);
    if (!chunks) this.columns.set(column, (chunks = { kind: "numeric", random: Array.from({ length: RANDOM_CHUNKS * RANDOM_DEALS }, () => new NumericSketch()), ordered: new Map() }));
    if (chunks.kind !== "numeric") return;
    for (let d = 0; d < RANDOM_DEALS; d++) chunks.random[this.dealt[r * RANDOM_DEALS + d]!]!.update(value, recorded);
    const key = this.keys[r];
    if (key === null || key === undefined) return;
    let sketch = chunks.ordered.get(key);
    if (!sketch) chunks.ordered.set(key, (sketch = new NumericSketch()));
    sketch.update(value, recorded);
  }

  /**
   * Adds a category value of row `r` of the dealt batch.
   *
   * @param column - the column's name
   * @param r - the row in the batch
   * @param value - the value ("" when missing)
   */
  categorical(column: string, r: number, value: string): void {
    let chunks = this.columns.get(column);
    if (!chunks) this.columns.set(column, (chunks = { kind: "categorical", random: Array.from({ length: RANDOM_CHUNKS * RANDOM_DEALS }, () => new Map()), ordered: new Map() }));
    if (chunks.kind !== "categorical") return;
    for (let d = 0; d < RANDOM_DEALS; d++) count(chunks.random[this.dealt[r * RANDOM_DEALS + d]!]!, value);
    const key = this.keys[r];
    if (key === null || key === undefined) return;
    let counts = chunks.ordered.get(key);
    if (!counts) chunks.ordered.set(key, (counts = new Map()));
    count(counts, value);
  }

  /**
   * The profile's calibration: every feature's distances between its reference sketch and the
   * chunks.
   *
   * @param features - the final feature schema (categories)
   * @param reference - each feature's reference sketch
   */
  calibration(features: Feature[], reference: ReadonlyMap<string, FeatureSketch>): Calibration {
    const out: Record<string, FeatureCalibration> = {};
    for (const feature of features) {
      const chunks = this.columns.get(feature.name);
      const sketch = reference.get(feature.name);
      if (!chunks || !sketch) continue;
      const toSketch = (c: NumericSketch | Map<string, number>): FeatureSketch => (c instanceof NumericSketch ? c : categoricalSketch(feature.categories!, c));
      const random: Chunk[] = chunks.random.map((c: NumericSketch | Map<string, number>) => ({ sketch: toSketch(c) }));
      const deals = Array.from({ length: RANDOM_DEALS }, (_, d) => random.slice(d * RANDOM_CHUNKS, (d + 1) * RANDOM_CHUNKS));
      const ordered: Chunk[] = [...chunks.ordered.values()].map((c: NumericSketch | Map<string, number>) => ({ sketch: toSketch(c) }));
      out[feature.name] = calibrateFeature(sketch, { deals, ordered }, CALIBRATION_BINS);
    }
    const by = this.options.by ? `${this.options.by}${this.options.period ? ` by ${this.options.period}` : ""}` : this.options.size ? `${this.options.size} rows` : undefined;
    return { chunks: { random: RANDOM_CHUNKS * RANDOM_DEALS, ordered: this.orderedKeys.size, ...(by && { by }) }, features: out };
  }

  /** The ordered chunk a row belongs to, or null (no ordered chunks; a missing chunk value). */
  private orderedKey(row: Cell[], index: number, where: string): string | null {
    if (this.options.size) return String(Math.floor(index / this.options.size));
    if (this.byAt === undefined) return null;
    const cell = row[this.byAt];
    if (cell === null || cell === undefined || cell === "") return null;
    if (!this.options.period) return String(cell);
    const time = typeof cell === "number" ? cell : Date.parse(String(cell));
    if (!Number.isFinite(time)) throw new CliError(`${where}: column "${this.options.by}": ${JSON.stringify(cell)} is not a date (ISO 8601 or epoch ms)`);
    return periodOf(new Date(time), this.options.period);
  }
}

function count(counts: Map<string, number>, value: string): void {
  counts.set(value, (counts.get(value) ?? 0) + 1);
}

function categoricalSketch(categories: readonly string[], counts: Map<string, number>): CategoricalSketch {
  const sketch = new CategoricalSketch(categories);
  for (const [value, n] of counts) for (let i = 0; i < n; i++) sketch.update(value === "" ? null : value);
  return sketch;
}

/** A date's period as a sortable key (UTC): 2001, 2001-03, 2001-W09, 2001-03-04. */
function periodOf(date: Date, period: NonNullable<ChunkOptions["period"]>): string {
  const iso = date.toISOString();
  if (period === "year") return iso.slice(0, 4);
  if (period === "month") return iso.slice(0, 7);
  if (period === "day") return iso.slice(0, 10);
  // ISO week: the week's Thursday decides its year
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 3 - ((date.getUTCDay() + 6) % 7)));
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / 604_800_000);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
