// The demo models npm start publishes (demo/models/, built by demo/make-models.ts): each ONNX
// graph, fed rows encoded as the runtime encodes them, gives scikit-learn's probabilities, and each
// profile is calibrated and carries the baseline accuracy the trainer measured.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { largestProbabilityGap } from "../../../demo/check-model.ts";
import { DEMO, demoFiles } from "../../../scripts/lib/demo.mjs";

describe("demo models", () => {
  for (const { name } of DEMO.models) {
    for (const version of ["v1", "v2"] as const) {
      const files = demoFiles(name, version);
      it(`${name}-${version}.onnx matches scikit-learn's predict_proba within 1e-5`, async () => {
        expect(await largestProbabilityGap(files.onnx, files.profile, files.expected)).toBeLessThan(1e-5);
      });
      it(`${name}-${version}'s profile is calibrated by time and has the trainer's accuracy as its baseline`, () => {
        const { profile } = JSON.parse(readFileSync(files.profile, "utf8")) as { profile: { calibration: { chunks: { ordered: number } }; performance: { accuracy: number } } };
        const expected = JSON.parse(readFileSync(files.expected, "utf8")) as { training_accuracy: number };
        expect(profile.calibration.chunks.ordered).toBeGreaterThanOrEqual(4);
        expect(profile.performance.accuracy).toBeCloseTo(expected.training_accuracy, 3);
      });
    }
  }
});
