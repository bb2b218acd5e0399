import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DriftlineError } from "../../../protocol/errors.ts";
import { CategoricalSketch, decodeCategorical } from "../../../protocol/sketch/categorical.ts";
import { fromBase64, toBase64 } from "../../../protocol/sketch/codec.ts";
import { ConfusionMatrix, decodeConfusion } from "../../../protocol/sketch/confusion.ts";
import { ErrorCounts, decodeErrorCounts } from "../../../protocol/sketch/error-counts.ts";
import { LatencySketch, decodeLatency } from "../../../protocol/sketch/latency.ts";
import { NumericSketch, decodeNumeric } from "../../../protocol/sketch/numeric.ts";
import { ClassificationSketch, decodeClassification } from "../../../protocol/sketch/prediction.ts";
import { QuantileSketch, decodeQuantiles } from "../../../protocol/sketch/quantiles.ts";

function filled() {
  const numeric = new NumericSketch({ range: { min: 0, max: 10 } });
  const categorical = new CategoricalSketch(["a", "b"], 8);
  const classification = new ClassificationSketch(["no", "yes"]);
  const latency = new LatencySketch();
  const errors = new ErrorCounts();
  const confusion = new ConfusionMatrix(["no", "yes"]);
  for (let i = 0; i < 2000; i++) {
    numeric.update(i % 97 === 0 ? null : ((i * 7919) % 1000) / 37);
    categorical.update(["a", "b", "c", `u${i % 13}`][i % 4]);
    classification.update(i % 2, (i % 100) / 100);
    latency.update(i % 3 ? "wasm" : "webgpu", i % 50);
    errors.update(i % 5 ? "validation" : "backend");
    confusion.update(i % 2, (i >> 1) % 2);
  }
  return { numeric, categorical, classification, latency, errors, confusion };
}

const decoders: Record<string, (b: Uint8Array) => { encode(): Uint8Array }> = {
  numeric: decodeNumeric,
  categorical: decodeCategorical,
  classification: decodeClassification,
  latency: decodeLatency,
  errors: decodeErrorCounts,
  confusion: decodeConfusion,
  quantiles: decodeQuantiles,
};

/** Decoding either succeeds or throws a coded DriftlineError — never anything else. */
function decodesOrCodedError(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(DriftlineError);
    expect(["decode", "sketch_mismatch", "limit_exceeded", "validation"]).toContain((err as DriftlineError).code);
  }
}

describe("encode / decode", () => {
  const sketches = filled();

  test("round trip: decode(encode(s)) encodes to the same bytes, through base64 too", () => {
    for (const [name, s] of Object.entries(sketches)) {
      const bytes = s.encode();
      const again = decoders[name]!(fromBase64(toBase64(bytes))).encode();
      expect(again, name).toEqual(decoders[name]!(again).encode());
    }
    expect(decodeNumeric(sketches.numeric.encode()).outOfRange).toBe(sketches.numeric.outOfRange);
  });

  test("every truncation is a decode error", () => {
    for (const [name, s] of Object.entries(sketches)) {
      const bytes = s.encode();
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decoders[name]!(bytes.subarray(0, n)), `${name} cut at ${n}`).toThrow(DriftlineError);
      }
      expect(() => decoders[name]!(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
    }
  });

  test("another sketch type, or other parameters, is sketch_mismatch", () => {
    expect(() => decodeNumeric(sketches.categorical.encode())).toThrow(expect.objectContaining({ code: "sketch_mismatch" }));
    expect(() => new NumericSketch().merge(sketches.numeric)).toThrow(expect.objectContaining({ code: "sketch_mismatch" }));
    expect(() => new QuantileSketch(100).merge(new QuantileSketch(200))).toThrow(expect.objectContaining({ code: "sketch_mismatch" }));
    expect(() => new CategoricalSketch(["a"]).merge(new CategoricalSketch(["b"]))).toThrow(expect.objectContaining({ code: "sketch_mismatch" }));
    expect(() => new ConfusionMatrix(["a", "b"]).merge(new ConfusionMatrix(["b", "a"]))).toThrow(expect.objectContaining({ code: "sketch_mismatch" }));
    expect(() => decodeQuantiles(new Uint8Array([1, 9]))).toThrow(expect.objectContaining({ code: "decode" }));
    expect(() => fromBase64("not base64!")).toThrow(expect.objectContaining({ code: "decode" }));
  });

  test("random bytes and random mutations never crash or hang", () => {
    const decode = fc.constantFrom(...Object.values(decoders));
    fc.assert(
      fc.property(decode, fc.uint8Array({ maxLength: 300 }), (d, bytes) => decodesOrCodedError(d, bytes)),
      { numRuns: 2000 },
    );
    const encoded = Object.entries(sketches).map(([name, s]) => [name, s.encode()] as const);
    fc.assert(
      fc.property(fc.constantFrom(...encoded), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), ([name, bytes], edits) => {
        const copy = bytes.slice();
        for (const [at, value] of edits) copy[at % copy.length] = value;
        decodesOrCodedError(decoders[name]!, copy);
      }),
      { numRuns: 2000 },
    );
  });
});
