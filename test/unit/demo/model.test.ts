// The demo's ONNX graphs, run with onnxruntime-web in Node, give scikit-learn's probabilities.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";

const root = new URL("../../..", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${root}demo/model/expected.json`, "utf8")) as {
  rows: number[][];
  versions: Record<string, { probabilities: number[][] }>;
};

describe("demo models", () => {
  for (const version of ["v1", "v2"]) {
    it(`cancer-${version}.onnx matches scikit-learn's predict_proba within 1e-5`, async () => {
      const session = await ort.InferenceSession.create(readFileSync(`${root}demo/model/cancer-${version}.onnx`));
      const rows = expected.rows;
      const input = new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
      const out = (await session.run({ features: input })).probabilities!.data as Float32Array;
      expected.versions[version]!.probabilities.flat().forEach((p, i) => expect(Math.abs(out[i]! - p)).toBeLessThan(1e-5));
    });
  }
});
