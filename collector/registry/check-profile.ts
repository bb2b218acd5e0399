import { isDriftlineError } from "../../protocol/errors.ts";
import type { Manifest } from "../../protocol/schema/manifest.ts";
import { derivedFeatures } from "../../protocol/preprocess/descriptors.ts";
import { sameList } from "../../protocol/sketch/codec.ts";
import { fromBase64, decodeCategorical, decodeClassification, decodeNumeric } from "../../protocol/sketch/index.ts";
import { ApiError } from "../errors.ts";

const CLASSIFICATION_OUTPUTS = new Set(["probabilities", "label"]);
const REGRESSION_OUTPUTS = new Set(["regression", "score"]);

// Profiles are client input: whatever a decoder throws on them is a 400, never a 500.
function decode<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!isDriftlineError(err)) console.error(err);
    throw new ApiError(400, "validation", `${path}: ${err instanceof Error ? err.message : "sketch does not decode"}`);
  }
}

/**
 * Throws 400 `validation` unless the reference profile fits the manifest: a sketch for every
 * feature (descriptor features of image, audio and text inputs included), each decoding as its kind's sketch (a categorical one over the feature's
 * categories), and a prediction sketch (if any) that matches the outputs. Drift is computed
 * against this profile, so a bad one must be refused at publish, not found at the first report.
 *
 * @param manifest - a manifest that passed protocol/'s schema
 */
export function checkProfile(manifest: Manifest): void {
  const { profile } = manifest;
  for (const feature of [...manifest.features, ...derivedFeatures(manifest)]) {
    const path = `manifest.profile.features.${feature.name}`;
    const entry = profile.features[feature.name];
    if (!entry) throw new ApiError(400, "validation", `${path}: the reference profile has no sketch of feature "${feature.name}"`);
    if (feature.kind === "numeric") {
      decode(path, () => decodeNumeric(fromBase64(entry.sketch)));
      continue;
    }
    const sketch = decode(path, () => decodeCategorical(fromBase64(entry.sketch)));
    if (!sameList(sketch.categories, ("categories" in feature && feature.categories) || [])) {
      throw new ApiError(400, "validation", `${path}: sketch categories differ from the feature's categories`);
    }
  }
  const prediction = profile.prediction;
  if (!prediction) return;
  const path = "manifest.profile.prediction";
  if (prediction.kind === "regression") {
    if (!manifest.outputs.some((o) => REGRESSION_OUTPUTS.has(o.kind))) {
      throw new ApiError(400, "validation", `${path}: a regression profile needs a regression or score output`);
    }
    decode(path, () => decodeNumeric(fromBase64(prediction.sketch)));
    return;
  }
  const output = manifest.outputs.find((o) => CLASSIFICATION_OUTPUTS.has(o.kind));
  if (!output) throw new ApiError(400, "validation", `${path}: a classification profile needs a probabilities or label output`);
  const sketch = decode(path, () => decodeClassification(fromBase64(prediction.sketch)));
  if (output.labels && !sameList(sketch.labels, output.labels)) {
    throw new ApiError(400, "validation", `${path}: sketch labels differ from output "${output.name}" labels`);
  }
}
