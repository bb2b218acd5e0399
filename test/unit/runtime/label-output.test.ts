// A model's `label` output as the runtime reads and sketches it (runtime/outputs.ts,
// runtime/report-builder.ts): a class index that is no whole number names no class, as one
// outside the labels does, and fails nothing.
import { describe, expect, it } from "vitest";
import type { ClassificationSketch } from "../../../protocol/sketch/prediction.ts";
import { decodeOutputs } from "../../../runtime/outputs.ts";
import { Accumulator, Staging } from "../../../runtime/report-builder.ts";
import type { Manifest } from "../../../runtime/types.ts";
import { churnModel } from "../../fixtures/runtime-models.ts";

const { profile: _p, ...churn } = churnModel("label-output").manifest;
const manifest = { ...churn, features: [], outputs: [{ name: "label", kind: "label", labels: ["no", "yes"] }] } as Manifest;

describe("a label output's classes", () => {
  it("counts whole class indices and skips others instead of failing the report", () => {
    const acc = new Accumulator(manifest, 0);
    const staging = new Staging(
      () => {},
      () => 1,
    );
    // two calls of two rows of a float output: classes 1 and 0, then 0.5 and 1
    const preds = [
      [1, 0],
      [0.5, 1],
    ].flatMap((classes) => {
      const base = staging.take(6);
      const out = decodeOutputs(manifest, { label: { data: Float32Array.from(classes) } } as never, 2, staging.values, base, "1");
      staging.add({ acc, n: 2, staged: staging.values, base, width: 0, misses: undefined, backend: "wasm", ms: 1 });
      return out;
    });
    expect(preds.map((p) => p.label)).toEqual(["yes", "no", undefined, "yes"]);
    staging.fold();
    expect((acc.prediction as ClassificationSketch).counts).toEqual([1, 2]);
  });
});
