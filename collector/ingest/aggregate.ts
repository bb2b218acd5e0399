import type { Report } from "../../protocol/schema/report.ts";
import {
  CategoricalSketch,
  ClassificationSketch,
  type ConfusionMatrix,
  type ErrorCounts,
  type LatencySketch,
  NumericSketch,
} from "../../protocol/sketch/index.ts";
import type { FeatureSketch, PredictionSketch } from "../drift/reference.ts";
import { type AnySketch, cloneSketch, decodeSketch, encodeSketch, mergeSketch } from "./sketches.ts";

/** Agreement of one shadow version with the live one. */
export interface ShadowAggregate {
  rows: number;
  agree: number;
  prediction?: PredictionSketch | undefined;
  delta?: NumericSketch | undefined;
  latency?: LatencySketch | undefined;
}

/** Parts of an aggregate a reader may decode; the others are skipped. */
export type AggregatePart = "features" | "prediction" | "latency" | "errors" | "confusion" | "residual" | "shadow";

const ALL_PARTS: readonly AggregatePart[] = ["features", "prediction", "latency", "errors", "confusion", "residual", "shadow"];
const FORMAT = 1;

/** The stored JSON form: counts and base64 sketches. */
interface Stored {
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
 * const a = Aggregate.fromReport(report); a.merge(Aggregate.decode(row.data));
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
  /** Agreement per shadow version. */
  readonly shadow = new Map<number, ShadowAggregate>();

  /**
   * The aggregate of one report, decoding its sketches by their type tags (no checks against
   * a manifest: see `checkReport`). Malformed sketches throw DriftlineError `decode`.
   *
   * @param report - a report that passed the wire schema
   */
  static fromReport(report: Report): Aggregate {
    const a = new Aggregate();
    a.reports = 1;
    a.rows = report.rows;
    for (const [name, b64] of Object.entries(report.features)) a.features.set(name, decodeSketch(b64) as FeatureSketch);
    a.prediction = report.prediction === undefined ? undefined : (decodeSketch(report.prediction) as PredictionSketch);
    a.latency = report.latency === undefined ? undefined : (decodeSketch(report.latency) as LatencySketch);
    a.errors = report.errors === undefined ? undefined : (decodeSketch(report.errors) as ErrorCounts);
    a.confusion = report.confusion === undefined ? undefined : (decodeSketch(report.confusion) as ConfusionMatrix);
    a.residual = report.residual === undefined ? undefined : (decodeSketch(report.residual) as NumericSketch);
    const s = report.shadow;
    if (s) {
      a.shadow.set(s.version, {
        rows: s.rows,
        agree: s.agree ?? 0,
        prediction: s.prediction === undefined ? undefined : (decodeSketch(s.prediction) as PredictionSketch),
        delta: s.delta === undefined ? undefined : (decodeSketch(s.delta) as NumericSketch),
        latency: s.latency === undefined ? undefined : (decodeSketch(s.latency) as LatencySketch),
      });
    }
    return a;
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
    this.reports += other.reports;
    this.rows += other.rows;
    for (const [name, s] of other.features) this.features.set(name, fold(this.features.get(name), s, take)!);
    this.prediction = fold(this.prediction, other.prediction, take);
    this.latency = fold(this.latency, other.latency, take);
    this.errors = fold(this.errors, other.errors, take);
    this.confusion = fold(this.confusion, other.confusion, take);
    this.residual = fold(this.residual, other.residual, take);
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
    return this;
  }

  /** Errors of every code. */
  get errorTotal(): number {
    let n = 0;
    for (const c of this.errors?.counts.values() ?? []) n += c;
    return n;
  }

  /** The stored form: JSON with base64 sketches. */
  encode(): string {
    const b64 = (s: AnySketch | undefined) => (s ? encodeSketch(s) : undefined);
    const stored: Stored = {
      v: FORMAT,
      reports: this.reports,
      rows: this.rows,
      features: Object.fromEntries([...this.features].map(([k, s]) => [k, encodeSketch(s)])),
      prediction: b64(this.prediction),
      latency: b64(this.latency),
      errors: b64(this.errors),
      confusion: b64(this.confusion),
      residual: b64(this.residual),
      shadow: Object.fromEntries(
        [...this.shadow].map(([v, s]) => [v, { rows: s.rows, agree: s.agree, prediction: b64(s.prediction), delta: b64(s.delta), latency: b64(s.latency) }]),
      ),
    };
    return JSON.stringify(stored);
  }

  /**
   * Reads {@link Aggregate.encode} text, decoding only the parts asked for.
   *
   * @param text - the stored form
   * @param parts - which sketches to decode
   * @defaultValue parts all
   */
  static decode(text: string, parts: readonly AggregatePart[] = ALL_PARTS): Aggregate {
    const stored = JSON.parse(text) as Stored;
    const want = new Set(parts);
    const a = new Aggregate();
    a.reports = stored.reports;
    a.rows = stored.rows;
    const read = <T>(part: AggregatePart, b64: string | undefined) => (want.has(part) && b64 !== undefined ? (decodeSketch(b64) as T) : undefined);
    if (want.has("features")) for (const [name, b64] of Object.entries(stored.features ?? {})) a.features.set(name, decodeSketch(b64) as FeatureSketch);
    a.prediction = read("prediction", stored.prediction);
    a.latency = read("latency", stored.latency);
    a.errors = read("errors", stored.errors);
    a.confusion = read("confusion", stored.confusion);
    a.residual = read("residual", stored.residual);
    if (want.has("shadow")) {
      for (const [v, s] of Object.entries(stored.shadow ?? {})) {
        a.shadow.set(Number(v), {
          rows: s.rows,
          agree: s.agree,
          prediction: read("shadow", s.prediction),
          delta: read("shadow", s.delta),
          latency: read("shadow", s.latency),
        });
      }
    }
    return a;
  }
}

/**
 * Whether a sketch is of the kind a feature needs.
 *
 * @param kind - the feature kind
 * @param s - a decoded sketch
 */
export function isFeatureSketch(kind: "numeric" | "categorical", s: AnySketch): s is FeatureSketch {
  return kind === "numeric" ? s instanceof NumericSketch : s instanceof CategoricalSketch;
}

/**
 * Whether a sketch can be a prediction sketch (classification or regression).
 *
 * @param s - a decoded sketch
 */
export function isPredictionSketch(s: AnySketch): s is PredictionSketch {
  return s instanceof ClassificationSketch || s instanceof NumericSketch;
}
