import { isDriftlineError } from "./errors.ts";
import type { Manifest } from "./schema/manifest.ts";
import { derivedFeatures } from "./preprocess/descriptors.ts";
import { sameList } from "./sketch/codec.ts";
import { fromBase64, decodeCategorical, decodeClassification, decodeNumeric } from "./sketch/index.ts";

const CLASSIFICATION_OUTPUTS = new Set(["probabilities", "label"]);
const REGRESSION_OUTPUTS = new Set(["regression", "score"]);

/** What `run` decodes, or the Error it throws: a profile is input, so no decoder failure escapes. */
function decoded<T>(run: () => T): T | Error {
  try {
    return run();
  } catch (err) {
    // a decoder's own refusals are DriftlineErrors; anything else is a bug worth a log line
    if (!isDriftlineError(err)) console.error(err);
    return err instanceof Error ? err : new Error("sketch does not decode");
  }
}

/**
 * Why the reference profile does not fit the manifest, or undefined when it does: a sketch for
 * every feature (descriptor features of image, audio and text inputs included), each decoding as
 * its kind's sketch (a categorical one over the feature's categories), and a prediction sketch
 * (if any) that matches the outputs. Drift is computed against this profile, so a bad one must
 * be refused at publish (the collector answers 400 `validation`, and `driftline publish` says so
 * before it uploads the model), not found at the first report.
 *
 * @param manifest - a manifest that passed protocol/'s schema
 * @returns e.g. `manifest.profile.features.age: the reference profile has no sketch of feature "age"`
 */
export function profileProblem(manifest: Manifest): string | undefined {
  const { profile } = manifest;
  for (const feature of [...manifest.features, ...derivedFeatures(manifest)]) {
    const path = `manifest.profile.features.${feature.name}`;
    const entry = profile.features[feature.name];
    if (!entry) return `${path}: the reference profile has no sketch of feature "${feature.name}"`;
    if (feature.kind === "numeric") {
      const sketch = decoded(() => decodeNumeric(fromBase64(entry.sketch)));
      if (sketch instanceof Error) return `${path}: ${sketch.message}`;
      continue;
    }
    const sketch = decoded(() => decodeCategorical(fromBase64(entry.sketch)));
    if (sketch instanceof Error) return `${path}: ${sketch.message}`;
    if (!sameList(sketch.categories, ("categories" in feature && feature.categories) || [])) return `${path}: sketch categories differ from the feature's categories`;
  }
  const prediction = profile.prediction;
  if (!prediction) return undefined;
  const path = "manifest.profile.prediction";
  if (prediction.kind === "regression") {
    if (!manifest.outputs.some((o) => REGRESSION_OUTPUTS.has(o.kind))) return `${path}: a regression profile needs a regression or score output`;
    const sketch = decoded(() => decodeNumeric(fromBase64(prediction.sketch)));
    return sketch instanceof Error ? `${path}: ${sketch.message}` : undefined;
  }
  const output = manifest.outputs.find((o) => CLASSIFICATION_OUTPUTS.has(o.kind));
  if (!output) return `${path}: a classification profile needs a probabilities or label output`;
  const sketch = decoded(() => decodeClassification(fromBase64(prediction.sketch)));
  if (sketch instanceof Error) return `${path}: ${sketch.message}`;
  if (output.labels && !sameList(sketch.labels, output.labels)) return `${path}: sketch labels differ from output "${output.name}" labels`;
  return undefined;
}
