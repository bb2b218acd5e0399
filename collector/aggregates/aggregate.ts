import { DriftlineError } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import type { Report } from "../../protocol/schema/report.ts";
import {
  type AnySketch,
  type ConfusionMatrix,
  type EmbeddingSketch,
  type ErrorCounts,
  type FeatureSketch,
  type LatencySketch,
  type NumericSketch,
  type PredictionSketch,
  cloneSketch,
  decodeSketch,
  fromBase64,
  mergeSketch,
} from "../../protocol/sketch/index.ts";
import { Reader, Writer } from "../../protocol/sketch/codec.ts";
import { knownKeys } from "./known-keys.ts";
import { scaleSketch } from "./scale-sketch.ts";
import { type AttributedReport, SenderTally } from "./sender-tally.ts";
import { shrinkSketch, sketchBytes, sketchWeight } from "./sketches.ts";

/** Agreement of one shadow version with the live one. */
export interface ShadowAggregate {
  rows: number;
  agree: number;
  prediction?: PredictionSketch | undefined;
  delta?: NumericSketch | undefined;
  latency?: LatencySketch | undefined;
}

/** Parts of an aggregate a reader may decode; the others are skipped. */
export type AggregatePart = "features" | "prediction" | "latency" | "errors" | "confusion" | "residual" | "embedding" | "shadow";

const ALL_PARTS: readonly AggregatePart[] = ["features", "prediction", "latency", "errors", "confusion", "residual", "embedding", "shadow"];
/** The single sketches of formats before 4 (and of format 1's JSON). */
const SINGLE_PARTS_BEFORE_EMBEDDING = ["prediction", "latency", "errors", "confusion", "residual"] as const;
/** The optional single sketches, in their order in the binary form. */
const SINGLE_PARTS = [...SINGLE_PARTS_BEFORE_EMBEDDING, "embedding"] as const;
/**
 * Format of {@link Aggregate.toBytes}: 7 ends with the row tally after the shadow tally; 6 (no
 * row tally) ends with the shadow tally after the label tally; 5 (no
 * shadow tally) ends with the label tally after the sender tally; 4 (no label tally) holds an
 * embedding sketch after the residuals; 3 (no embedding) ends with the sender tally too; 2 (no
 * tally) and 1 (JSON with base64 sketches) are still read, with empty tallies.
 */
const FORMAT = 7;
/** The binary format before the row tally. */
const FORMAT_WITHOUT_ROW_TALLY = 6;
/** The binary format before the shadow tally. */
const FORMAT_WITHOUT_SHADOW_TALLY = 5;
/** The binary format before the label tally. */
const FORMAT_WITHOUT_LABEL_TALLY = 4;
/** Heap of one sender tally entry (a map entry of two numbers), for {@link Aggregate.memoryBytes}. */
const SENDER_ENTRY_BYTES = 100;
/** The binary format before the sender tally. */
const FORMAT_WITHOUT_SENDERS = 2;

/**
 * Rows an aggregate may hold. Reports are capped at `LIMITS.reportRows` rows and every sketch
 * weighs at most its report's rows (or that cap), so holding both sums below these keeps every
 * count of every sketch an exact integer (below 2^53); a merge past them is refused.
 */
export const MAX_AGGREGATE_ROWS = 2 ** 50;
/** Reports an aggregate may hold (see {@link MAX_AGGREGATE_ROWS}). */
export const MAX_AGGREGATE_REPORTS = 2 ** 32;

/** The JSON form of format 1. */
interface StoredV1 {
  v: number;
  reports: number;
  rows: number;
  features?: Record<string, string>;
  prediction?: string;
  latency?: string;
  errors?: string;
  confusion?: string;
  residual?: string;
  shadow?: Record<string, { rows: number; agree: number; prediction?: string; delta?: string; latency?: string }>;
}

/** Decodes a base64 sketch of any kind (see `decodeSketch`). */
const decodeBase64 = (b64: string) => decodeSketch(fromBase64(b64));

function fold<T extends AnySketch>(into: T | undefined, from: T | undefined, take: boolean): T | undefined {
  if (!from) return into;
  if (into) return mergeSketch(into, from);
  return take ? from : cloneSketch(from);
}

/**
 * Everything known about one (model, version, role, window, segment): report and row counts
 * and the merged sketches of features, prediction, latency, errors, performance (confusion
 * matrix or residuals, from labels joined on the devices) and shadow agreement. Merging is associative and commutative, so aggregates roll up in any order.
 *
 * @example
 * const a = Aggregate.fromReport(report); a.merge(Aggregate.fromBytes(bytes));
 */
export class Aggregate {
  /** Reports merged in. */
  reports = 0;
  /** Rows the clients predicted (before sampling). */
  rows = 0;
  /** Sketch per feature. */
  readonly features = new Map<string, FeatureSketch>();
  prediction: PredictionSketch | undefined;
  latency: LatencySketch | undefined;
  errors: ErrorCounts | undefined;
  confusion: ConfusionMatrix | undefined;
  /** Label minus prediction, for regression models. */
  residual: NumericSketch | undefined;
  /** The rows' embeddings, projected (protocol/embedding.ts). */
  embedding: EmbeddingSketch | undefined;
  /** Agreement per shadow version. */
  readonly shadow = new Map<number, ShadowAggregate>();
  /** How much each sender gave (see {@link SenderTally}). */
  readonly senders = new SenderTally();
  /** How many labels (confusion and residual counts) each sender gave: what performance verdicts trim. */
  readonly labellers = new SenderTally();
  /** How many shadow rows each sender gave: what the shadow agreement shown without one sender trims. */
  readonly shadowers = new SenderTally();
  /**
   * How many rows each sender's reports declared: what the error rate judged without one sender
   * trims. A report's `rows` is the client's word, weighed by no budget (it counts predictions,
   * not the sketched values): one sender could otherwise dilute the fleet's errors with rows.
   */
  readonly rowSenders = new SenderTally();

  /**
   * The aggregate of one report as it was logged: its sketches decoded ({@link Aggregate.decode}),
   * scaled by its `scale` and `labelScale` past its sender's budgets ({@link Aggregate.scale}),
   * and tallied under its sender with its `weight`, else its {@link Aggregate.mass}
   * ({@link Aggregate.attribute}).
   *
   * @param report - a report that passed the wire schema, with the sender it came from
   */
  static fromReport(report: AttributedReport): Aggregate {
    const a = Aggregate.decode(report).scale(report.scale, report.labelScale);
    return report.sender === undefined ? a : a.attribute(report.sender, report.weight);
  }

  /**
   * The sketches of one report, decoded by their type tags (no checks against a manifest: see
   * `checkReport`), neither scaled nor tallied under a sender. Malformed sketches throw
   * DriftlineError `decode`.
   *
   * @param report - a report that passed the wire schema
   */
  static decode(report: Report): Aggregate {
    const a = new Aggregate();
    a.reports = 1;
    // a continuation of a split report: its rows are the first part's
    a.rows = report.part ? 0 : report.rows;
    for (const [name, b64] of Object.entries(report.features)) a.features.set(name, decodeBase64(b64) as FeatureSketch);
    a.prediction = report.prediction === undefined ? undefined : (decodeBase64(report.prediction) as PredictionSketch);
    a.latency = report.latency === undefined ? undefined : (knownKeys(decodeBase64(report.latency)) as LatencySketch);
    a.errors = report.errors === undefined ? undefined : (knownKeys(decodeBase64(report.errors)) as ErrorCounts);
    a.confusion = report.confusion === undefined ? undefined : (decodeBase64(report.confusion) as ConfusionMatrix);
    a.residual = report.residual === undefined ? undefined : (decodeBase64(report.residual) as NumericSketch);
    a.embedding = report.embedding === undefined ? undefined : (decodeBase64(report.embedding) as EmbeddingSketch);
    const s = report.shadow;
    if (s) {
      a.shadow.set(s.version, {
        rows: s.rows,
        agree: s.agree ?? 0,
        prediction: s.prediction === undefined ? undefined : (decodeBase64(s.prediction) as PredictionSketch),
        delta: s.delta === undefined ? undefined : (decodeBase64(s.delta) as NumericSketch),
        latency: s.latency === undefined ? undefined : (knownKeys(decodeBase64(s.latency)) as LatencySketch),
      });
    }
    return a;
  }

  /**
   * Scales a report's aggregate past its sender's budgets (./sender-budget.ts): its features,
   * prediction, latency, errors and embedding by `factor`, its labels by `labelFactor`; a factor
   * of 1 (or none) leaves them.
   *
   * @param factor - the budget's factor
   * @param labelFactor - the label budget's factor
   */
  scale(factor = 1, labelFactor = 1): this {
    if (factor < 1) this.scaleDown(factor);
    if (labelFactor < 1) this.scaleLabels(labelFactor);
    return this;
  }

  /**
   * Tallies a report's aggregate under its sender: `weight` in {@link Aggregate.senders}, its
   * labels in {@link Aggregate.labellers}, its shadow rows in {@link Aggregate.shadowers} and
   * its rows in {@link Aggregate.rowSenders}. Once, after {@link Aggregate.scale}.
   *
   * @param sender - the sender's id
   * @param weight - what it adds to the sender tally: its {@link Aggregate.mass} unless a split
   *   report's parts weigh together (collector/ingest/report-parts.ts)
   */
  attribute(sender: number, weight = this.mass()): this {
    this.senders.add(sender, weight);
    this.labellers.add(sender, this.labelCount());
    let shadowRows = 0;
    for (const s of this.shadow.values()) shadowRows += s.rows;
    this.shadowers.add(sender, shadowRows);
    this.rowSenders.add(sender, this.rows);
    return this;
  }

  /**
   * The weight of the heaviest sketch that verdicts read and a sender's budget scales —
   * features, prediction, latency, errors, embedding — what a report weighs against its
   * sender's budget and in the sender tally (which embedding drift's no-verdict share reads too). Labels (confusion, residual) and shadow parts do not count: were
   * they to, a sender could claim a large share with label counts alone and have every verdict
   * trimmed away.
   */
  mass(): number {
    let most = 0;
    const weigh = (sk: AnySketch | undefined) => (most = sk ? Math.max(most, sketchWeight(sk)) : most);
    this.features.forEach(weigh);
    [this.prediction, this.latency, this.errors, this.embedding].forEach(weigh);
    return most;
  }

  /** The labels this aggregate holds: its confusion matrix's and its residual sketch's counts. */
  labelCount(): number {
    return (this.confusion ? sketchWeight(this.confusion) : 0) + (this.residual ? sketchWeight(this.residual) : 0);
  }

  /**
   * Folds `other` in, copying its sketches (`other` stays usable).
   *
   * @param other - an aggregate of the same model version
   * @returns this
   */
  merge(other: Aggregate): this {
    return this.fold(other, false);
  }

  /**
   * Folds `other` in, taking its sketches over: cheaper, but `other` must not be used again.
   *
   * @param other - an aggregate of the same model version, given up by the caller
   * @returns this
   */
  absorb(other: Aggregate): this {
    return this.fold(other, true);
  }

  private fold(other: Aggregate, take: boolean): this {
    if (this.rows + other.rows > MAX_AGGREGATE_ROWS || this.reports + other.reports > MAX_AGGREGATE_REPORTS) {
      throw new DriftlineError("limit_exceeded", `aggregate: ${this.rows + other.rows} rows of ${this.reports + other.reports} reports is past the bound`);
    }
    this.reports += other.reports;
    this.rows += other.rows;
    for (const [name, s] of other.features) this.features.set(name, fold(this.features.get(name), s, take)!);
    this.prediction = fold(this.prediction, other.prediction, take);
    this.latency = fold(this.latency, other.latency, take);
    this.errors = fold(this.errors, other.errors, take);
    this.confusion = fold(this.confusion, other.confusion, take);
    this.residual = fold(this.residual, other.residual, take);
    this.embedding = fold(this.embedding, other.embedding, take);
    for (const [version, s] of other.shadow) {
      const mine = this.shadow.get(version) ?? { rows: 0, agree: 0 };
      this.shadow.set(version, {
        rows: mine.rows + s.rows,
        agree: mine.agree + s.agree,
        prediction: fold(mine.prediction, s.prediction, take),
        delta: fold(mine.delta, s.delta, take),
        latency: fold(mine.latency, s.latency, take),
      });
    }
    this.senders.merge(other.senders);
    this.labellers.merge(other.labellers);
    this.shadowers.merge(other.shadowers);
    this.rowSenders.merge(other.rowSenders);
    return this;
  }

  /** Scales the sketches drift and alert conditions read by `factor` (./scale-sketch.ts). */
  private scaleDown(factor: number): void {
    for (const [name, sk] of this.features) this.features.set(name, scaleSketch(sk, factor));
    this.prediction = this.prediction && scaleSketch(this.prediction, factor);
    this.latency = this.latency && scaleSketch(this.latency, factor);
    this.errors = this.errors && scaleSketch(this.errors, factor);
    this.embedding = this.embedding && scaleSketch(this.embedding, factor);
  }

  /** Scales the labels (confusion matrix, residuals) by `factor` (./scale-sketch.ts). */
  private scaleLabels(factor: number): void {
    this.confusion = this.confusion && scaleSketch(this.confusion, factor);
    this.residual = this.residual && scaleSketch(this.residual, factor);
  }

  /** Errors of every code. */
  get errorTotal(): number {
    let n = 0;
    for (const c of this.errors?.counts.values() ?? []) n += c;
    return n;
  }

  /**
   * An estimate of the heap this aggregate holds (see {@link sketchBytes}): what bounds an
   * aggregator's memory.
   */
  memoryBytes(): number {
    let n = 0;
    const add = (sk: AnySketch | undefined) => (n += sk ? sketchBytes(sk) : 0);
    this.features.forEach(add);
    [this.prediction, this.latency, this.errors, this.confusion, this.residual, this.embedding].forEach(add);
    this.shadow.forEach((sh) => [sh.prediction, sh.delta, sh.latency].forEach(add));
    return n + (this.senders.weights.size + this.labellers.weights.size + this.shadowers.weights.size + this.rowSenders.weights.size) * SENDER_ENTRY_BYTES;
  }

  /** Lets go of the growth slack of every sketch's arrays ({@link shrinkSketch}): same contents, smaller {@link memoryBytes}. */
  shrink(): void {
    const shrink = (sk: AnySketch | undefined) => sk && shrinkSketch(sk);
    this.features.forEach(shrink);
    [this.prediction, this.latency, this.residual].forEach(shrink);
    this.shadow.forEach((sh) => [sh.prediction, sh.delta, sh.latency].forEach(shrink));
  }

  /** The binary form: counts, then each sketch's protocol encoding behind its length, then the sender, label, shadow and row tallies. */
  toBytes(): Uint8Array {
    const out = new ChunkWriter();
    out.varint(FORMAT).varint(this.reports).varint(this.rows).varint(this.features.size);
    for (const [name, sk] of this.features) out.str(name).sketch(sk);
    for (const part of SINGLE_PARTS) out.sketch(this[part]);
    out.varint(this.shadow.size);
    for (const [v, sh] of this.shadow) out.varint(v).varint(sh.rows).varint(sh.agree).sketch(sh.prediction).sketch(sh.delta).sketch(sh.latency);
    return out.tally(this.senders).tally(this.labellers).tally(this.shadowers).tally(this.rowSenders).bytes();
  }

  /**
   * Reads {@link Aggregate.toBytes}, decoding only the parts asked for (the others are skipped
   * by their lengths). Malformed bytes throw DriftlineError `decode`.
   *
   * @param bytes - the binary form
   * @param parts - which sketches to decode
   * @defaultValue parts all
   */
  static fromBytes(bytes: Uint8Array, parts: readonly AggregatePart[] = ALL_PARTS): Aggregate {
    const r = new Reader(bytes);
    const format = r.varint();
    if (format < FORMAT_WITHOUT_SENDERS || format > FORMAT) throw new DriftlineError("decode", "aggregate: unknown format");
    const want = new Set(parts);
    const a = new Aggregate();
    a.reports = r.varint(MAX_AGGREGATE_REPORTS);
    a.rows = r.varint(MAX_AGGREGATE_ROWS);
    const sketch = <T extends AnySketch>(part: AggregatePart): T | undefined => {
      const body = r.take(r.varint());
      return want.has(part) && body.length > 0 ? (decodeSketch(body) as T) : undefined;
    };
    const features = r.count(LIMITS.features);
    for (let i = 0; i < features; i++) {
      const name = r.str(LIMITS.nameLength);
      const s = sketch<FeatureSketch>("features");
      if (s) a.features.set(name, s);
    }
    for (const part of format >= FORMAT_WITHOUT_LABEL_TALLY ? SINGLE_PARTS : SINGLE_PARTS_BEFORE_EMBEDDING) a[part] = sketch(part) as never;
    const shadows = r.count(LIMITS.features);
    for (let i = 0; i < shadows; i++) {
      const version = r.varint();
      const rows = r.varint(MAX_AGGREGATE_ROWS);
      const agree = r.varint(rows);
      const entry = { rows, agree, prediction: sketch<PredictionSketch>("shadow"), delta: sketch<NumericSketch>("shadow"), latency: sketch<LatencySketch>("shadow") };
      if (want.has("shadow")) a.shadow.set(version, entry);
    }
    if (format !== FORMAT_WITHOUT_SENDERS) a.senders.merge(SenderTally.read(r));
    if (format >= FORMAT_WITHOUT_SHADOW_TALLY) a.labellers.merge(SenderTally.read(r));
    if (format >= FORMAT_WITHOUT_ROW_TALLY) a.shadowers.merge(SenderTally.read(r));
    if (format === FORMAT) a.rowSenders.merge(SenderTally.read(r));
    r.end();
    return a;
  }

  /**
   * Reads the JSON form of format 1 (rows written before format 2), decoding only `parts`.
   *
   * @param text - the JSON text
   * @param parts - which sketches to decode
   */
  static fromJson(text: string, parts: readonly AggregatePart[] = ALL_PARTS): Aggregate {
    const stored = JSON.parse(text) as StoredV1;
    const want = new Set(parts);
    const a = new Aggregate();
    a.reports = stored.reports;
    a.rows = stored.rows;
    const read = <T>(part: AggregatePart, b64: string | undefined) => (want.has(part) && b64 !== undefined ? (decodeBase64(b64) as T) : undefined);
    if (want.has("features")) for (const [name, b64] of Object.entries(stored.features ?? {})) a.features.set(name, decodeBase64(b64) as FeatureSketch);
    for (const part of SINGLE_PARTS_BEFORE_EMBEDDING) a[part] = read(part, stored[part]) as never;
    if (want.has("shadow")) {
      for (const [v, s] of Object.entries(stored.shadow ?? {})) {
        a.shadow.set(Number(v), { rows: s.rows, agree: s.agree, prediction: read("shadow", s.prediction), delta: read("shadow", s.delta), latency: read("shadow", s.latency) });
      }
    }
    return a;
  }
}

/** Collects encoded pieces and joins them once. */
class ChunkWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.size += bytes.length;
    return this;
  }

  varint(n: number): this {
    const w = new Writer();
    w.varint(n);
    return this.push(w.bytes());
  }

  str(s: string): this {
    const w = new Writer();
    w.str(s);
    return this.push(w.bytes());
  }

  /** A sender, label or shadow-row tally, as {@link SenderTally.write} writes it. */
  tally(tally: SenderTally): this {
    const w = new Writer();
    tally.write(w);
    return this.push(w.bytes());
  }

  /** A sketch's encoding behind its length; an absent sketch is length 0. */
  sketch(s: AnySketch | undefined): this {
    if (!s) return this.varint(0);
    const body = s.encode();
    return this.varint(body.length).push(body);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
