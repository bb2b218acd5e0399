import type { ErrorCode } from "../../protocol/errors.ts";
import { LIMITS } from "../../protocol/limits.ts";
import type { Manifest } from "../../protocol/schema/manifest.ts";
import { derivedFeatures } from "../../protocol/preprocess/descriptors.ts";
import { type AnySketch, CategoricalSketch, ClassificationSketch, ConfusionMatrix, DEFAULT_K, EmbeddingSketch, ErrorCounts, LatencySketch, NumericSketch } from "../../protocol/sketch/index.ts";
import { sameList } from "../../protocol/sketch/codec.ts";
import type { Aggregate } from "../aggregates/aggregate.ts";
import { sketchWeight } from "../aggregates/sketches.ts";

/**
 * What the sketches of one version's reports must look like: the parameters the runtime
 * builds them with from the manifest (see docs/ingest.md), so every report of the version
 * merges with every other.
 */
export interface VersionSchema {
  version: number;
  features: ReadonlyMap<string, { kind: "numeric" | "categorical"; range?: { min: number; max: number } | undefined; categories?: readonly string[] | undefined }>;
  /** Class labels of the classifier output; undefined for a regression (numeric) prediction. */
  labels: readonly string[] | undefined;
  /** Sizes of the embedding sketch, and the bound of its projected components, when the manifest has an embedding. */
  embedding?: { dims: number; features: number; clip?: number | undefined } | undefined;
}

/** A reason to refuse one report. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/**
 * The schema of a version from its manifest (the client manifest suffices: no profile needed):
 * its features, descriptor features of image, audio and text inputs included.
 *
 * @param manifest - features and outputs of the version
 * @param version - the version number
 */
export function versionSchema(manifest: Pick<Manifest, "inputs" | "features" | "outputs" | "embedding" | "tensorStats">, version: number): VersionSchema {
  const labels = manifest.outputs.find((o) => o.labels && (o.kind === "probabilities" || o.kind === "label"))?.labels;
  return {
    version,
    features: new Map([
      ...manifest.features.map((f) => [f.name, { kind: f.kind, range: f.range, categories: f.categories }] as const),
      ...derivedFeatures(manifest).map((f) => [f.name, { kind: f.kind, range: undefined, categories: undefined }] as const),
    ]),
    labels,
    embedding: manifest.embedding && { dims: manifest.embedding.dims, features: manifest.embedding.features, clip: manifest.embedding.clip },
  };
}

const sameRange = (a: { min: number; max: number } | undefined, b: { min: number; max: number } | undefined) => a === b || (a !== undefined && b !== undefined && a.min === b.min && a.max === b.max);

function mismatch(what: string, why: string): Refusal {
  return { code: "sketch_mismatch", message: `${what}: ${why}` };
}

/** Why a prediction-like sketch does not fit the version, or undefined when it does. */
function checkPrediction(what: string, s: AnySketch, labels: readonly string[] | undefined): Refusal | undefined {
  if (labels) {
    if (!(s instanceof ClassificationSketch)) return mismatch(what, "expected a classification sketch");
    if (!sameList(s.labels, labels)) return mismatch(what, "labels differ from the manifest's output labels");
    if (s.scores.k !== DEFAULT_K || s.entropy.k !== DEFAULT_K) return mismatch(what, `k ${s.scores.k} and ${s.entropy.k}, expected ${DEFAULT_K}`);
    return undefined;
  }
  if (!(s instanceof NumericSketch)) return mismatch(what, "expected a numeric sketch (the model has no class labels)");
  if (s.range !== undefined || s.quantiles.k !== DEFAULT_K) return mismatch(what, `expected no range and k ${DEFAULT_K}`);
  return undefined;
}

function checkLatency(what: string, s: AnySketch | undefined): Refusal | undefined {
  if (s === undefined) return undefined;
  if (!(s instanceof LatencySketch)) return mismatch(what, "expected a latency sketch");
  return s.k === DEFAULT_K ? undefined : mismatch(what, `k ${s.k}, expected ${DEFAULT_K}`);
}

/** Why a sketch claims more values than `most`, or undefined. */
function overweight(what: string, s: AnySketch | undefined, most: number, of: string): Refusal | undefined {
  const weight = s === undefined ? 0 : sketchWeight(s);
  return weight > most ? { code: "limit_exceeded", message: `${what}: ${weight} values, more than ${of} (${most})` } : undefined;
}

/**
 * The largest magnitude a report's numeric sketch may give the mean of its values, and an
 * embedding sketch the mean of a component: 1e140. Each sketch's moments decode when finite, but
 * merged they must stay finite too — a stored window whose mean, M2 or sums overflowed to
 * Infinity no longer decodes and is quarantined with every report in it. Within this bound (M2 at
 * most `count`·1e280, a sum of squares at most `count`·1e280), merges of up to
 * `MAX_AGGREGATE_ROWS` values stay below 1e297. The runtime's own M2 overflows for values
 * past about 1e154 anyway.
 */
export const MAX_MOMENT = 1e140;

/** Why a numeric sketch's mean or M2 is past what {@link MAX_MOMENT} allows, or undefined. */
function outsizedMoments(what: string, s: AnySketch | undefined): Refusal | undefined {
  if (!(s instanceof NumericSketch)) return undefined;
  if (Math.abs(s.mean) <= MAX_MOMENT && s.m2 <= s.count * MAX_MOMENT * MAX_MOMENT) return undefined;
  return { code: "limit_exceeded", message: `${what}: mean ${s.mean} or M2 ${s.m2} past what values within ±${MAX_MOMENT} give` };
}

/** Whether an embedding sketch's sums are what components within ±`bound` can give (with room for rounding). */
function sumsWithin(s: EmbeddingSketch, bound: number): boolean {
  const most = s.count * bound * (1 + 1e-9);
  return s.sum.every((v) => Math.abs(v) <= most) && s.squares.every((q) => q <= most * bound * (1 + 1e-9));
}

/** Why an embedding sketch's sums are past what components within ±`bound` give, or undefined. */
function outsizedSums(s: AnySketch | undefined, bound = MAX_MOMENT, of = ""): Refusal | undefined {
  if (!(s instanceof EmbeddingSketch) || sumsWithin(s, bound)) return undefined;
  return { code: "limit_exceeded", message: `embedding: sums past what components within ±${bound}${of} give` };
}

/** Why a decoded report's moments or sums could overflow once merged ({@link MAX_MOMENT}), or undefined. */
function checkMoments(report: Aggregate): Refusal | undefined {
  for (const [name, s] of report.features) {
    const problem = outsizedMoments(`features.${name}`, s);
    if (problem) return problem;
  }
  const problem = outsizedMoments("prediction", report.prediction) || outsizedMoments("residual", report.residual) || outsizedSums(report.embedding);
  if (problem) return problem;
  for (const [, s] of report.shadow) {
    const shadowProblem = outsizedMoments("shadow.prediction", s.prediction) || outsizedMoments("shadow.delta", s.delta);
    if (shadowProblem) return shadowProblem;
  }
  return undefined;
}

/**
 * Why a decoded report claims more than it covers, or undefined: a feature or prediction
 * sketch may hold at most the report's `rows` values, a shadow sketch at most the shadow's
 * `rows` (a shadow report has `rows` 0 and its own count, capped by the wire schema too), latency at most one call per row or error, and error counts, confusion and
 * residuals (labels may come for rows of earlier reports) and the embedding (the app passes
 * embeddings of its own with `rt.embed()`, apart from its rows) at most `LIMITS.reportRows`. With
 * `rows` capped by the wire schema, any sum of accepted reports stays an exact integer.
 *
 * @param report - the report's aggregate
 * @param rows - the rows the report covers: its `rows`, also on a continuation of a split
 *   report (whose aggregate counts none)
 */
export function checkWeights(report: Aggregate, rows: number): Refusal | undefined {
  const most = LIMITS.reportRows;
  // not report.errorTotal: the errors slot may hold any kind of sketch until checkReport's type checks
  const errors = report.errors === undefined ? 0 : sketchWeight(report.errors);
  for (const [name, s] of report.features) {
    const problem = overweight(`features.${name}`, s, rows, "its rows");
    if (problem) return problem;
  }
  const problem =
    overweight("prediction", report.prediction, rows, "its rows") ||
    overweight("errors", report.errors, most, "the report row limit") ||
    overweight("latency", report.latency, rows + errors, "its rows and errors") ||
    overweight("confusion", report.confusion, most, "the report row limit") ||
    overweight("residual", report.residual, most, "the report row limit") ||
    overweight("embedding", report.embedding, most, "the report row limit");
  if (problem) return problem;
  for (const [, s] of report.shadow) {
    const shadowProblem =
      overweight("shadow.prediction", s.prediction, s.rows, "shadow.rows") ||
      overweight("shadow.delta", s.delta, s.rows, "shadow.rows") ||
      overweight("shadow.latency", s.latency, s.rows, "shadow.rows");
    if (shadowProblem) return shadowProblem;
  }
  return undefined;
}

/**
 * Why a decoded report does not fit its version (and of its shadow version), or undefined:
 * `limit_exceeded` when it claims more values than it covers ({@link checkWeights}) or moments
 * that could overflow once merged ({@link MAX_MOMENT}),
 * `unknown_feature` for a feature the manifest lacks, `sketch_mismatch` for a sketch of the
 * wrong type or with other parameters than the manifest implies.
 *
 * @param report - the report's aggregate
 * @param rows - the rows it covers (its wire `rows`, see {@link checkWeights})
 * @param schema - its version's schema
 * @param shadowSchema - the schema of its shadow version, if it has a shadow part
 */
export function checkReport(report: Aggregate, rows: number, schema: VersionSchema, shadowSchema?: VersionSchema): Refusal | undefined {
  const weight = checkWeights(report, rows) || checkMoments(report);
  if (weight) return weight;
  for (const [name, s] of report.features) {
    const f = schema.features.get(name);
    if (!f) return { code: "unknown_feature", message: `features.${name}: version ${schema.version} has no feature "${name}"` };
    const what = `features.${name}`;
    if (f.kind === "numeric") {
      if (!(s instanceof NumericSketch)) return mismatch(what, "expected a numeric sketch");
      if (!sameRange(s.range, f.range)) return mismatch(what, "range differs from the manifest's");
      if (s.quantiles.k !== DEFAULT_K) return mismatch(what, `k ${s.quantiles.k}, expected ${DEFAULT_K}`);
    } else {
      if (!(s instanceof CategoricalSketch)) return mismatch(what, "expected a categorical sketch");
      if (!sameList(s.categories, f.categories ?? [])) return mismatch(what, "categories differ from the manifest's");
      if (s.capacity !== LIMITS.heavyHitters) return mismatch(what, `heavy-hitters capacity ${s.capacity}, expected ${LIMITS.heavyHitters}`);
    }
  }
  const problem =
    (report.prediction && checkPrediction("prediction", report.prediction, schema.labels)) ||
    checkLatency("latency", report.latency) ||
    (report.errors && !(report.errors instanceof ErrorCounts) ? mismatch("errors", "expected error counts") : undefined) ||
    (report.confusion && checkConfusion(report.confusion, schema.labels)) ||
    (report.residual && checkResidual(report.residual, schema.labels)) ||
    (report.embedding && checkEmbedding(report.embedding, schema.embedding));
  if (problem) return problem;
  for (const [, s] of report.shadow) {
    if (!shadowSchema) return { code: "not_found", message: "shadow: unknown shadow version" };
    const shadowProblem =
      (s.prediction && checkPrediction("shadow.prediction", s.prediction, shadowSchema.labels)) ||
      (s.delta && (!(s.delta instanceof NumericSketch) || s.delta.range !== undefined || s.delta.quantiles.k !== DEFAULT_K)
        ? mismatch("shadow.delta", `expected a numeric sketch with no range and k ${DEFAULT_K}`)
        : undefined) ||
      checkLatency("shadow.latency", s.latency);
    if (shadowProblem) return shadowProblem;
  }
  return undefined;
}

function checkEmbedding(s: AnySketch, sizes: VersionSchema["embedding"]): Refusal | undefined {
  if (!sizes) return mismatch("embedding", "the manifest has no embedding");
  if (!(s instanceof EmbeddingSketch)) return mismatch("embedding", "expected an embedding sketch");
  if (s.dims !== sizes.dims || s.features !== sizes.features) return mismatch("embedding", `${s.dims} components and ${s.features} features, expected ${sizes.dims} and ${sizes.features}`);
  // devices clip each projected component: what one sender's share can move drift by is bounded
  return sizes.clip === undefined ? undefined : outsizedSums(s, sizes.clip, " (the manifest's clip)");
}

/** Residuals (label − prediction) are sketched like a regression prediction. */
function checkResidual(s: AnySketch, labels: readonly string[] | undefined): Refusal | undefined {
  if (labels) return mismatch("residual", "a classification model reports a confusion matrix, not residuals");
  return checkPrediction("residual", s, undefined);
}

function checkConfusion(s: AnySketch, labels: readonly string[] | undefined): Refusal | undefined {
  if (!(s instanceof ConfusionMatrix)) return mismatch("confusion", "expected a confusion matrix");
  if (!labels || !sameList(s.labels, labels)) return mismatch("confusion", "labels differ from the manifest's output labels");
  return undefined;
}
