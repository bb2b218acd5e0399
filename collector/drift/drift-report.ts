import type { DriftConfig } from "../../protocol/schema/index.ts";
import { CategoricalSketch, ClassificationSketch, type FeatureSketch, NumericSketch, type PredictionSketch } from "../../protocol/sketch/index.ts";
import { categoricalMetrics, classificationMetrics, emptyMetrics, entropyMetrics, isDiscrete, numericMetrics } from "../../protocol/drift/metrics.ts";
import type { Reference, Sketches } from "./reference.ts";
import { type FeatureCalibration, valuesCompared } from "../../protocol/drift/calibration.ts";
import { benjaminiHochberg } from "./multiple-testing.ts";
import { type TestChoice, type TestedAs, calibratedChoice, chooseTest, isDrifted, isPValueTest, pValueOf, testValue } from "./test-choice.ts";
import type { DriftMetrics, EmbeddingDrift, FeatureDrift } from "../../protocol/api.ts";
import { embeddingDrift } from "../../protocol/drift/embedding.ts";
import { judgedWithoutHeaviest } from "../../protocol/drift/sender-trim.ts";

/** Default number of equal-mass reference bins (deciles). */
export const DEFAULT_BINS = 10;
/** Default share of drifted features at which the dataset drifts. */
export const DEFAULT_DATASET_SHARE = 0.5;

/** Per-feature, prediction, dataset and embedding drift. */
export interface DriftResult {
  features: Record<string, FeatureDrift>;
  prediction: FeatureDrift | null;
  entropy: FeatureDrift | null;
  dataset: { drifted_share: number; drifted: boolean };
  embedding: EmbeddingDrift | null;
}

/**
 * Drift of the current sketches against the reference: per feature and for the prediction,
 * every metric, the test chosen as Evidently does (or as the manifest's drift settings say;
 * with calibrated verdicts, a distance whose threshold the profile's calibration sets for the
 * window's size) and its verdict, a classifier's output entropy judged as a numeric feature,
 * embedding drift (protocol/drift/embedding.ts), and dataset drift (share of drifted features
 * among those judged without their heaviest sender, at or above the configured share: a feature
 * whose values may all be one sender's, or that has none, neither drifts nor dilutes it). The prediction and its
 * entropy do not count towards the share.
 * When the current side tallies its senders, each verdict is taken on its test's value with
 * the heaviest sender's share of the feature's values trimmed off (./sender-trim.ts), so no
 * one sender can make a feature drift; `metrics` stay those of all the data.
 *
 * @param reference - decoded reference profile
 * @param current - merged current sketches
 * @param config - the manifest's drift settings
 * @example
 * const result = computeDrift(decodeReference(manifest.profile), merged, manifest.drift);
 */
export function computeDrift(reference: Reference, current: Sketches, config: DriftConfig = {}): DriftResult {
  const how: Judging = {
    referenceRows: reference.rows,
    bins: config.bins ?? DEFAULT_BINS,
    heaviest: current.senders?.heaviest() ?? 0,
    calibrated: config.verdicts === "calibrated",
  };
  const judged = [...reference.features].map(([name, ref]) => {
    const kindRule = ref instanceof NumericSketch ? config.numeric : config.categorical;
    const calibration = reference.calibration?.features[name];
    return { name, ...judge(how, ref, current.features.get(name), [config.features?.[name], kindRule], "numeric", calibration) };
  });
  const adjusted = benjaminiHochberg(judged.map(({ drift }) => drift.p_value));
  const features: Record<string, FeatureDrift> = {};
  let tested = 0;
  let drifted = 0;
  judged.forEach(({ name, drift, choice }, i) => {
    const result: FeatureDrift = { ...drift, p_adjusted: adjusted[i]! };
    if (config.correction === "benjamini-hochberg" && isPValueTest(choice.test)) {
      // the verdict is taken on the adjusted p-value, which `value` then is (an alert quotes it)
      result.value = result.p_adjusted;
      result.drifted = result.count > 0 && isDrifted(choice, result.value);
    }
    features[name] = result;
    if (judgedWithoutHeaviest(result)) {
      tested++;
      if (result.drifted) drifted++;
    }
  });
  const prediction = reference.prediction ? judge(how, reference.prediction, current.prediction, [config.prediction], "regression").drift : null;
  const share = tested > 0 ? drifted / tested : 0;
  const embedding = reference.embedding && current.embedding ? embeddingDrift(reference.embedding, current.embedding, reference.embeddingNullScale ?? 0, how.heaviest) : null;
  return {
    embedding,
    features,
    prediction: prediction && { ...prediction, p_adjusted: prediction.p_value },
    entropy: judgeEntropy(how, reference.prediction, current.prediction, [config.prediction]),
    dataset: { drifted_share: share, drifted: tested > 0 && share >= (config.share ?? DEFAULT_DATASET_SHARE) },
  };
}

/** What every feature is judged with: reference rows, bins, the heaviest sender's mass, calibrated verdicts. */
interface Judging {
  referenceRows: number;
  bins: number;
  heaviest: number;
  calibrated: boolean;
}

/** A feature's drift before the adjustment across features, and the test it was judged by. */
interface Judged {
  drift: Omit<FeatureDrift, "p_adjusted">;
  choice: TestChoice;
}

/** Metrics, test and verdict of one reference sketch against its current counterpart. */
function judge(
  how: Judging,
  ref: FeatureSketch | PredictionSketch,
  cur: FeatureSketch | PredictionSketch | undefined,
  rules: Parameters<typeof chooseTest>[3],
  numericKind: "numeric" | "regression",
  calibration?: FeatureCalibration,
): Judged {
  const { referenceRows, bins } = how;
  const choose = (as: TestedAs, discrete: boolean, n: number, referenceValues: number) =>
    (how.calibrated ? calibratedChoice(as, discrete, rules, calibration, n, referenceValues) : undefined) ?? chooseTest(as, referenceRows, discrete, rules);
  if (ref instanceof NumericSketch) {
    const discrete = isDiscrete(ref);
    const same = cur instanceof NumericSketch ? cur : undefined;
    const count = same?.count ?? 0;
    const choice = choose("numeric", discrete, count, ref.count);
    const metrics = (trim: number) => (same ? numericMetrics(ref, same, bins, trim) : emptyMetrics(false));
    return { choice, drift: verdict(numericKind, count, choice, metrics, how.heaviest) };
  }
  if (ref instanceof CategoricalSketch) {
    const same = cur instanceof CategoricalSketch ? cur : undefined;
    const count = same ? valuesCompared(same) : 0;
    const choice = choose("categorical", false, count, valuesCompared(ref));
    return { choice, drift: verdict("categorical", count, choice, (trim) => (same ? categoricalMetrics(ref, same, trim) : emptyMetrics(true)), how.heaviest) };
  }
  const choice = chooseTest("categorical", referenceRows, false, rules);
  const same = cur instanceof ClassificationSketch ? cur : undefined;
  const count = same ? same.counts.reduce((a, b) => a + b, 0) : 0;
  const metrics = (trim: number) => (same ? classificationMetrics(ref, same, bins, trim) : emptyMetrics(false));
  return { choice, drift: verdict("classification", count, choice, metrics, how.heaviest) };
}

/**
 * Drift of a classifier's normalised output entropy, judged as a numeric feature would be; null
 * when the reference has none (a regression model, or a profile from before entropy sketches).
 */
function judgeEntropy(how: Judging, ref: PredictionSketch | undefined, cur: PredictionSketch | undefined, rules: Parameters<typeof chooseTest>[3]): FeatureDrift | null {
  if (!(ref instanceof ClassificationSketch) || ref.entropy.n === 0) return null;
  const same = cur instanceof ClassificationSketch ? cur : undefined;
  const count = same?.entropy.n ?? 0;
  const choice = chooseTest("numeric", how.referenceRows, false, rules);
  const drift = verdict("numeric", count, choice, (trim) => (same ? entropyMetrics(ref, same, how.bins, trim) : emptyMetrics(false)), how.heaviest);
  return { ...drift, p_adjusted: drift.p_value };
}

/**
 * The verdict on the test's value with the heaviest sender's share of the `count` values
 * trimmed off; no verdict when one sender may have given them all.
 */
function verdict(kind: FeatureDrift["kind"], count: number, choice: ReturnType<typeof chooseTest>, metricsWith: (trim: number) => DriftMetrics, heaviest: number): Judged["drift"] {
  const metrics = metricsWith(0);
  const senderShare = count > 0 ? Math.min(1, heaviest / count) : 0;
  const judged = senderShare === 0 ? metrics : senderShare < 1 ? metricsWith(senderShare) : null;
  const value = judged ? testValue(choice.test, judged) : null;
  const pValue = judged ? pValueOf(choice.test, judged) : null;
  const drifted = count > 0 && isDrifted(choice, value);
  return { kind, count, test: choice.test, threshold: choice.threshold, drifted, value, p_value: count > 0 ? pValue : null, sender_share: senderShare, metrics };
}
