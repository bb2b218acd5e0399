import type { Feature, Manifest, Output } from "../protocol/schema/manifest.ts";
import type { BaselinePerformance, ReferenceProfile } from "../protocol/schema/profile.ts";
import type { Media } from "../protocol/schema/media.ts";
import { blurValue, narrowestCell, valueStep } from "../protocol/blur.ts";
import { LIMITS } from "../protocol/limits.ts";
import { type ValueOf, featureValue, featureWidth, inputColumns, writeFeature } from "../protocol/row-encoding.ts";
import { CategoricalSketch, ClassificationSketch, type FeatureSketch, NumericSketch, quantile, toBase64 } from "../protocol/sketch/index.ts";
import { isFloat32Finite } from "../protocol/sketch/codec.ts";
import { CliError } from "./args.ts";
import { type LoadedModel, runModel } from "./onnx-model.ts";
import { type ChunkOptions, ReferenceChunker } from "./reference-chunks.ts";
import { BaselineCollector } from "./baseline.ts";
import type { TargetRecording } from "./target-recording.ts";
import type { Cell, Table } from "./tables/index.ts";
import { addProbabilities } from "../protocol/sketch/prediction.ts";

/**
 * What `driftline profile` writes and `driftline publish` reads: the feature schema (tensor
 * positions, ranges, categories, policies — edit it before publishing if the defaults do not fit),
 * the outputs when a model was run, and the reference profile itself.
 */
export interface ProfileFile {
  format: 1;
  /** The model input the features feed. */
  input: string;
  /** For an image, audio or text input: its medium and preprocessing (its features are descriptors, not in `features`). */
  media?: Media;
  /** The manifest's embedding settings, with `--embeddings`. */
  embedding?: Manifest["embedding"];
  /** With `--feeds`: the tensors whose statistics `run()` reports (the profile holds their reference). */
  tensorStats?: string[];
  features: Feature[];
  outputs?: Output[];
  profile: ReferenceProfile;
  /**
   * With `--model`: the SHA-256 (hex) of the model whose predictions the profile holds.
   * `driftline publish` refuses another model with it: live predictions compared with another
   * model's would show prediction drift where the data did not change.
   */
  modelSha256?: string;
}

/** How to read the table's columns. */
export interface ProfileOptions {
  /** Columns that are categories; when empty, a column whose first value is not a number is one. */
  categorical: string[];
  /** Columns to leave out (ids, the target…). */
  exclude: string[];
  /** The model input the features feed. @defaultValue "features" */
  input: string;
  /** How categories become tensor columns. @defaultValue "index" */
  encoding: "index" | "onehot";
  /** Columns whose missing values the model takes as they are (NaN, or no category). @defaultValue [] */
  nullable: string[];
  /**
   * How a category the profile did not see is fed: the most frequent one (`impute`) or none
   * (`ignore`, scikit-learn's `OneHotEncoder(handle_unknown="ignore")`). @defaultValue "impute"
   */
  unknown: "impute" | "ignore";
  /** Cut the reference into chunks and calibrate drift thresholds (`--calibrate`); off when absent. */
  chunks?: ChunkOptions;
}

/**
 * Numeric values kept to take exact medians (as scikit-learn's `SimpleImputer` does), over all
 * numeric columns; past it medians come from the sketches (within their rank error).
 */
export const EXACT_MEDIAN_VALUES = 20_000_000;

/** Distinct values one categorical column may have before it is surely not a category. */
const MAX_DISTINCT = 100_000;

type Column =
  | { name: string; at: number; kind: "numeric"; sketch: NumericSketch; values: number[] | undefined; min: number; max: number; step: number | undefined; minCell: number }
  | { name: string; at: number; kind: "categorical"; counts: Map<string, number>; missing: number };

/**
 * Pass one over a table: exact category counts and numeric sketches per column.
 * Errors name the file, line and column.
 */
export class TableProfiler {
  readonly columns: Column[];
  rows = 0;

  private readonly path: string;
  private readonly chunker: ReferenceChunker | undefined;

  /**
   * @param table - the table's column names, and its file and row places for errors
   * @param options - which columns are categorical or excluded
   * @param firstRows - the first batch of rows: the first infers kinds when no column is named
   *   categorical; all of them give each numeric column its step (protocol/blur.ts `valueStep`),
   *   which every value of the column is then blurred by
   */
  constructor(
    private readonly table: Pick<Table, "path" | "columns" | "where">,
    options: ProfileOptions,
    firstRows: readonly Cell[][] = [],
  ) {
    const { path, columns: columnNames } = table;
    this.path = path;
    const chunkBy = options.chunks?.by;
    for (const name of [...options.categorical, ...options.exclude, ...options.nullable, ...(chunkBy ? [chunkBy] : [])]) {
      if (!columnNames.includes(name)) throw new CliError(`${path} has no column "${name}" (columns: ${columnNames.join(", ")})`);
    }
    this.chunker = options.chunks && new ReferenceChunker(options.chunks, chunkBy === undefined ? undefined : columnNames.indexOf(chunkBy));
    this.columns = [];
    columnNames.forEach((name, at) => {
      if (options.exclude.includes(name) || name === chunkBy) return;
      const categorical = options.categorical.length > 0 ? options.categorical.includes(name) : looksCategorical(firstRows[0]?.[at]);
      if (categorical) return this.columns.push({ name, at, kind: "categorical", counts: new Map(), missing: 0 });
      const step = valueStep(firstRows.map((row) => toNumber(row[at])));
      this.columns.push({ name, at, kind: "numeric", sketch: new NumericSketch(), values: [], min: Infinity, max: -Infinity, step, minCell: narrowestCell(step) });
    });
    if (this.columns.length === 0) throw new CliError(`${path}: every column is excluded`);
    if (this.columns.length > LIMITS.features) throw new CliError(`${path} has ${this.columns.length} features; at most ${LIMITS.features} are allowed`);
  }

  /**
   * Adds a batch of rows.
   *
   * @param rows - the cells
   * @param positions - each row's place in the file, for errors (see {@link Table.where})
   */
  add(rows: Cell[][], positions: number[]): void {
    const chunker = this.chunker;
    chunker?.deal(rows, (r) => this.table.where(positions[r]!));
    for (const column of this.columns) {
      const at = column.at;
      if (column.kind === "numeric") {
        const sketch = column.sketch;
        for (let r = 0; r < rows.length; r++) {
          const cell = rows[r]![at]!;
          const value = toNumber(cell);
          if (value === undefined) {
            throw new CliError(
              `${this.table.where(positions[r]!)}: column "${column.name}": ${JSON.stringify(cell)} is not a number (name it in --categorical if it is a category, in --exclude if the model does not take it: an id, a date, the target)`,
            );
          }
          // recorded as clients record it (protocol/blur.ts), so blurring adds no drift
          const recorded = value === null ? value : blurValue(value, column.minCell);
          sketch.update(value, recorded);
          chunker?.numeric(column.name, r, value, recorded);
          // past float32's range is no number to the runtime (protocol/row-encoding.ts): nor to the range or the median
          if (value === null || !isFloat32Finite(value)) continue;
          column.values?.push(value);
          if (value < column.min) column.min = value;
          if (value > column.max) column.max = value;
        }
      } else {
        for (let r = 0; r < rows.length; r++) {
          const cell = rows[r]![at];
          const key = cell === null || cell === undefined ? "" : String(cell);
          if (key === "") column.missing++;
          else column.counts.set(key, (column.counts.get(key) ?? 0) + 1);
          chunker?.categorical(column.name, r, key);
        }
        if (column.counts.size > MAX_DISTINCT) {
          throw new CliError(`${this.path}: column "${column.name}" has over ${MAX_DISTINCT} distinct values, so it is not a category (an id? leave it out with --exclude)`);
        }
      }
    }
    this.rows += rows.length;
    this.keepValuesWithinBudget();
  }

  /** Whether every numeric column's median is exact (see {@link EXACT_MEDIAN_VALUES}). */
  get exactMedians(): boolean {
    return this.columns.every((c) => c.kind !== "numeric" || c.values !== undefined);
  }

  /** Lets go of the kept values once they pass the budget: medians then come from the sketches. */
  private keepValuesWithinBudget(): void {
    let kept = 0;
    for (const c of this.columns) if (c.kind === "numeric") kept += c.values?.length ?? 0;
    if (kept <= EXACT_MEDIAN_VALUES) return;
    for (const c of this.columns) if (c.kind === "numeric") c.values = undefined;
  }

  /**
   * The feature schema: columns in table order; numeric range = the observed min and max;
   * categories = the most frequent (up to the limit) in alphabetical order, as scikit-learn's
   * encoders order them; missing values imputed as scikit-learn's `SimpleImputer` does: the
   * median (of an even count, the mean of the two middle values) or the most frequent category
   * (of tied ones, the smallest); `nullable` columns and the policy for unknown categories as
   * the options say. A column without a value (a numeric one: without a number within float32's
   * range) is a CliError, unless it is a numeric `nullable` one.
   *
   * @param options - input name, categorical encoding, nullable columns, unknown categories
   */
  features(options: ProfileOptions): Feature[] {
    let index = 0;
    return this.columns.map((column) => {
      let feature: Feature;
      if (column.kind === "numeric") {
        // no number within float32's range (min is still Infinity): nothing to impute, no range
        if (column.min > column.max && !options.nullable.includes(column.name)) {
          throw new CliError(`${this.path}: column "${column.name}" has no values: leave it out with --exclude, or name it in --nullable if the model takes it missing`);
        }
        const q = column.sketch.quantiles;
        const median = column.values ? exactMedian(column.values) : q.n > 0 ? quantile(q, 0.5) : 0;
        feature = {
          name: column.name,
          kind: "numeric",
          input: options.input,
          index,
          dtype: "float32",
          policy: "impute",
          impute: median,
          ...(q.n > 0 ? { range: { min: column.min, max: column.max } } : {}),
          ...(column.step !== undefined && { step: column.step }),
        };
      } else {
        const byCount = [...column.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        const categories = byCount
          .slice(0, LIMITS.categories)
          .map(([value]) => value.slice(0, LIMITS.nameLength))
          .sort();
        if (categories.length === 0) throw new CliError(`${this.path}: column "${column.name}" has no values`);
        const policy = options.unknown === "ignore" ? "ignore" : "impute";
        feature = {
          name: column.name,
          kind: "categorical",
          input: options.input,
          index,
          dtype: "float32",
          categories,
          encoding: options.encoding,
          policy,
          impute: byCount[0]![0].slice(0, LIMITS.nameLength),
        };
      }
      if (options.nullable.includes(column.name)) feature.nullable = true;
      index += featureWidth(feature);
      return feature;
    });
  }

  /**
   * The reference profile's feature sketches, created with the final schema so they equal what
   * clients will send, and their calibration when the reference was cut into chunks.
   *
   * @param features - from {@link features}
   */
  featureSketches(features: Feature[]): Pick<ReferenceProfile, "features" | "calibration"> {
    const sketches = new Map<string, FeatureSketch>();
    this.columns.forEach((column, i) => {
      if (column.kind === "numeric") {
        sketches.set(column.name, column.sketch);
        return;
      }
      const sketch = new CategoricalSketch(features[i]!.categories!);
      for (let m = 0; m < column.missing; m++) sketch.update(null);
      for (const [value, count] of column.counts) for (let c = 0; c < count; c++) sketch.update(value);
      sketches.set(column.name, sketch);
    });
    const out: ReferenceProfile["features"] = {};
    for (const [name, sketch] of sketches) out[name] = { kind: sketch instanceof NumericSketch ? "numeric" : "categorical", sketch: toBase64(sketch.encode()) };
    return { features: out, ...(this.chunker && { calibration: this.chunker.calibration(features, sketches) }) };
  }
}

/**
 * The reference predictions of one output — class probabilities, or a value — and, when targets
 * are given, the model's quality on them (the baseline).
 */
export class PredictionSketcher {
  private readonly classification: ClassificationSketch | undefined;
  private readonly regression: NumericSketch | undefined;
  private readonly baseline: BaselineCollector | undefined;

  /**
   * @param output - the output to sketch
   * @param target - the target column's name, when rows have targets
   */
  constructor(output: Output, target?: string) {
    if (output.kind === "probabilities") this.classification = new ClassificationSketch(output.labels!);
    else this.regression = new NumericSketch();
    this.baseline = target === undefined ? undefined : new BaselineCollector(target, output.kind === "probabilities" ? output.labels! : undefined);
  }

  /**
   * Adds one row's output, and its target when there are targets.
   *
   * @param output - the row's class probabilities, or its value first
   * @param target - the row's target cell
   * @param where - the row's place in the data, for errors
   */
  add(output: ArrayLike<number>, target?: Cell, where: () => string = () => ""): void {
    if (this.classification) addProbabilities(this.classification, output);
    else this.regression!.update(output[0]!);
    this.baseline?.add(output, target, where);
  }

  /** The model's quality on the rows with a target, when targets were given. */
  get performance(): BaselinePerformance | undefined {
    return this.baseline?.result();
  }

  /** How devices record a regression's labels, when targets were given (the output's `step` and `targets`). */
  get recording(): TargetRecording | undefined {
    return this.baseline?.recording;
  }

  /** The profile's prediction entry. */
  get prediction(): NonNullable<ReferenceProfile["prediction"]> {
    return this.classification ? { kind: "classification", sketch: toBase64(this.classification.encode()) } : { kind: "regression", sketch: toBase64(this.regression!.encode()) };
  }
}

/**
 * Pass two: runs the model over every row, encoded exactly as the runtime encodes it, and
 * sketches its predictions (class probabilities, or the regression value).
 */
export class PredictionProfiler {
  private readonly columns: number;
  private readonly encoders: ValueOf[];
  private readonly sketcher: PredictionSketcher;

  /**
   * @param model - the loaded model
   * @param features - the feature schema
   * @param at - each feature's column in the table
   * @param output - the output to sketch
   * @param target - the target column and its place in the table: the baseline's labels
   */
  constructor(
    private readonly model: LoadedModel,
    private readonly features: Feature[],
    private readonly at: number[],
    private readonly output: Output,
    private readonly target?: { name: string; at: number },
  ) {
    this.columns = inputColumns(features).get(features[0]!.input) ?? 0;
    this.encoders = features.map(featureValue);
    this.sketcher = new PredictionSketcher(output, target?.name);
  }

  /** The model's quality on the rows with a target, when a target column was given. */
  get performance(): BaselinePerformance | undefined {
    return this.sketcher.performance;
  }

  /** The profile's prediction entry. */
  get prediction(): NonNullable<ReferenceProfile["prediction"]> {
    return this.sketcher.prediction;
  }

  /** How devices record a regression's labels, when a target column was given. */
  get recording(): TargetRecording | undefined {
    return this.sketcher.recording;
  }

  /**
   * Runs the model on a batch of rows.
   *
   * @param rows - table rows
   * @param where - a row's place in the file, for errors
   */
  async add(rows: Cell[][], where: (r: number) => string): Promise<void> {
    const data = new Float32Array(rows.length * this.columns);
    this.features.forEach((f, i) => {
      const at = this.at[i]!;
      const encode = this.encoders[i]!;
      for (let r = 0; r < rows.length; r++) {
        const cell = rows[r]![at];
        // a cell as the runtime gets it in a named row: a number, a category's text, or missing
        const raw = cell === "" || cell == null ? null : f.kind === "numeric" ? toNumber(cell) : String(cell);
        writeFeature(f, encode(raw, ignore), data, this.columns, r);
      }
    });
    const feeds = { [this.features[0]!.input]: new this.model.Tensor("float32", data, [rows.length, this.columns]) };
    const result = await runModel(this.model, feeds, [this.output.name]);
    const values = result[this.output.name]!.data as Float32Array;
    const width = values.length / rows.length;
    for (let r = 0; r < rows.length; r++) this.sketcher.add(values.subarray(r * width, (r + 1) * width), this.target && rows[r]![this.target.at], () => where(r));
  }
}

/** Violations count nowhere while profiling: the reference rows are what they are. */
const ignore = () => {};

/** The median as numpy takes it: of an even count, the mean of the two middle values. */
function exactMedian(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A cell as a number: null when missing, undefined when it is not a number at all. */
function toNumber(cell: Cell | undefined): number | null | undefined {
  if (cell === null || cell === "" || cell === undefined) return null;
  if (typeof cell === "number") return cell;
  if (typeof cell === "boolean") return undefined;
  const n = +cell;
  return n === n || cell.trim() === "NaN" ? n : undefined;
}

function looksCategorical(cell: Cell | undefined): boolean {
  return typeof cell === "boolean" || (typeof cell === "string" && cell !== "" && toNumber(cell) === undefined);
}
