// Runs a demo model's ONNX graph on the rows demo/train.py checked, encoded exactly as the runtime
// encodes a named row (protocol/row-encoding.ts), and compares with scikit-learn's probabilities.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { featureValue, inputColumns, writeFeature } from "../protocol/row-encoding.ts";
import type { Feature } from "../protocol/schema/manifest.ts";

/** What demo/train.py writes beside a model (`<name>-<version>.expected.json`). */
export interface TrainerExpectation {
  labels: string[];
  rows: Array<Record<string, string | number | null>>;
  probabilities: number[][];
  training_accuracy: number;
  training_rows: number;
  positive_share: number;
}

/**
 * The largest absolute difference between the graph's and scikit-learn's class probabilities
 * over the expectation's rows.
 *
 * @param onnxPath - the model file
 * @param profilePath - its profile (`driftline profile` output: `features`, `input`)
 * @param expectedPath - what demo/train.py wrote
 */
export async function largestProbabilityGap(onnxPath: string, profilePath: string, expectedPath: string): Promise<number> {
  const { features, input } = JSON.parse(readFileSync(profilePath, "utf8")) as { features: Feature[]; input: string };
  const expected = JSON.parse(readFileSync(expectedPath, "utf8")) as TrainerExpectation;
  const columns = inputColumns(features).get(input)!;
  const data = new Float32Array(expected.rows.length * columns);
  const encoders = features.map(featureValue);
  expected.rows.forEach((row, r) =>
    features.forEach((f, i) =>
      writeFeature(
        f,
        encoders[i]!(row[f.name], () => {}),
        data,
        columns,
        r,
      ),
    ),
  );
  const session = await ort.InferenceSession.create(readFileSync(onnxPath));
  const out = (await session.run({ [input]: new ort.Tensor("float32", data, [expected.rows.length, columns]) })).probabilities!.data as Float32Array;
  let gap = 0;
  expected.probabilities.flat().forEach((p, i) => (gap = Math.max(gap, Math.abs(out[i]! - p))));
  await session.release();
  return gap;
}
