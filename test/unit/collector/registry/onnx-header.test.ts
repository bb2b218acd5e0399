import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ONNX_HEADER_BYTES, onnxHeaderProblem } from "../../../../collector/registry/onnx-header.ts";
import { SMOKE_CLASSIFIER, buildDenseClassifier } from "../../../fixtures/onnx-models.ts";

const root = new URL("../../../..", import.meta.url).pathname;

describe("onnxHeaderProblem: recognising an ONNX model by its first bytes", () => {
  it("reads models written by scikit-learn's exporter and by onnx-proto, whole or by their first 4 KiB", () => {
    const models = [
      readFileSync(`${root}test/fixtures/cancer/model/cancer-v1.onnx`),
      buildDenseClassifier(SMOKE_CLASSIFIER),
      buildDenseClassifier({
        ...SMOKE_CLASSIFIER,
        hidden: [{ weights: Array.from({ length: 4 }, () => Array(400).fill(0.1)), bias: Array(400).fill(0) }],
        weights: Array.from({ length: 400 }, () => [0.1, 0.2, 0.3]),
      }),
    ];
    for (const bytes of models) {
      expect(onnxHeaderProblem(bytes, true)).toBeUndefined();
      expect(onnxHeaderProblem(bytes.subarray(0, ONNX_HEADER_BYTES), bytes.length <= ONNX_HEADER_BYTES)).toBeUndefined();
    }
  });

  it("says why other bytes are not one", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(onnxHeaderProblem(text("this is not an onnx model"), true)).toMatch(/not part of an ONNX ModelProto/);
    expect(onnxHeaderProblem(text('{"model": true}'), true)).toMatch(/not part of an ONNX ModelProto/);
    expect(onnxHeaderProblem(new Uint8Array(0), true)).toBe("the artifact is empty");
    expect(onnxHeaderProblem(new Uint8Array([0x3a, 0x02, 0xff, 0xff]), true)).toBe("no ir_version");
    expect(onnxHeaderProblem(new Uint8Array([0x08, 0x08, 0x3a, 0x10, 0xff]), true)).toMatch(/runs past the end/);
  });
});
