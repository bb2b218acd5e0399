import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-web";
import { compile } from "../../../runtime/validate.ts";
import { buildFeeds, zeroFeeds } from "../../../runtime/tensors.ts";
import { decodeOutputs } from "../../../runtime/outputs.ts";
import { blurValue } from "../../../protocol/blur.ts";
import { Accumulator } from "../../../runtime/report-builder.ts";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import { CategoricalSketch, NumericSketch } from "../../../protocol/sketch/index.ts";
import { churnColumns, churnModel } from "../../fixtures/runtime-models.ts";

const { manifest } = churnModel("churn");
const plan = compile(manifest);
const feeds = (rows: Record<string, unknown>[]) => {
  let violations = 0;
  const f = buildFeeds(ort, manifest, plan, rows as never, () => violations++).feeds;
  return { data: Array.from(f.features!.data as Float32Array), dims: f.features!.dims, violations };
};

describe("validation and tensor building", () => {
  it("puts each feature in its column, one-hot categories included", () => {
    const rows = [
      { tenure: 3, charges: 20.5, age: 30, plan: "basic" },
      { tenure: 99, charges: 80, age: 70, plan: "enterprise" },
    ];
    expect(feeds(rows)).toEqual({ data: rows.flatMap(churnColumns), dims: [2, 6], violations: 0 });
  });

  it("clamps, imputes and counts every violation", () => {
    const out = feeds([
      { tenure: -5, charges: null, age: 30, plan: "pro" },
      { tenure: 1000, charges: Infinity, age: 30, plan: "pro" },
      { tenure: 5, charges: "x", age: 30, plan: "pro" },
    ]);
    expect(out.data).toEqual([
      ...churnColumns({ tenure: 0, charges: 50, age: 30, plan: "pro" }),
      ...churnColumns({ tenure: 100, charges: 50, age: 30, plan: "pro" }),
      ...churnColumns({ tenure: 5, charges: 50, age: 30, plan: "pro" }),
    ]);
    expect(out.violations).toBe(5);
  });

  it("feeds an out-of-range value as it is under policy impute, counting no violation", () => {
    const m: Manifest = { ...manifest, features: manifest.features.map((f) => (f.name === "charges" ? { ...f, range: { min: 0, max: 100 } } : f)) };
    let violations = 0;
    const f = buildFeeds(ort, m, compile(m), [{ tenure: 5, charges: 250, age: 30, plan: "pro" }], () => violations++).feeds;
    expect(Array.from(f.features!.data as Float32Array)).toEqual(churnColumns({ tenure: 5, charges: 250, age: 30, plan: "pro" }));
    expect(violations).toBe(0);
  });

  it.each([
    ["out of range", { tenure: 1, charges: 1, age: 100, plan: "pro" }],
    ["missing", { tenure: 1, charges: 1, plan: "pro" }],
    ["NaN", { tenure: 1, charges: 1, age: NaN, plan: "pro" }],
    ["an unknown category", { tenure: 1, charges: 1, age: 30, plan: "gold" }],
    ["a clamp feature without a value", { charges: 1, age: 30, plan: "pro" }],
  ])("rejects %s with DriftlineError validation", (_why, row) => {
    expect(() => feeds([row])).toThrow(expect.objectContaining({ code: "validation", name: "DriftlineError" }));
  });

  it("feeds nullable features as NaN / no category, and index-encoded and text categories", () => {
    const m: Manifest = {
      ...manifest,
      inputs: [
        { name: "num", dtype: "float32", shape: [-1, 2] },
        { name: "txt", dtype: "string", shape: [-1, 1] },
        { name: "big", dtype: "int64", shape: [-1, 1] },
      ],
      features: [
        { name: "a", kind: "numeric", input: "num", index: 0, policy: "reject", nullable: true },
        { name: "b", kind: "categorical", input: "num", index: 1, categories: ["x", "y"], policy: "reject" },
        { name: "c", kind: "categorical", input: "txt", index: 0, categories: ["x", "y"], policy: "impute", impute: "x" },
        { name: "d", kind: "numeric", input: "big", index: 0, policy: "reject" },
      ],
    };
    const f = buildFeeds(ort, m, compile(m), [{ a: null, b: "y", c: "zzz", d: 7 }], () => {}).feeds;
    expect(Array.from(f.num!.data as Float32Array)).toEqual([NaN, 1]);
    expect(f.txt!.data).toEqual(["x"]);
    expect(f.big!.data).toEqual(BigInt64Array.from([7n]));
    expect(zeroFeeds(ort, m, compile(m)).num!.dims).toEqual([1, 2]);
  });

  it("stages what the app sent, so folding the staged call sketches the values sent (numbers blurred)", () => {
    const rows = [
      { tenure: 3, charges: 20.1, age: 30, plan: "basic" },
      { tenure: 500, charges: null, age: 31, plan: "pro" },
      { tenure: -1, charges: Infinity, age: 32, plan: "enterprise" },
      { tenure: 7, charges: "x", age: 33, plan: "pro" },
    ];
    const enc = buildFeeds(ort, manifest, plan, rows as never, () => {});
    expect(enc.misses).toEqual([0, 1, 500, 0, 2, -1, 1, 1, null, 1, 2, Infinity, 1, 3, "x"]);
    const n = rows.length;
    const at = enc.staged.length - 2 * n;
    enc.staged.set([1, 0, 2, 1], at);
    enc.staged.set([0.5, 0.6, 0.7, 0.8], at + n);
    const acc = new Accumulator(manifest, 0);
    acc.fold({ acc, n, staged: enc.staged, base: 0, width: 4, misses: enc.misses, backend: "wasm", ms: 1 }, 1);
    const expected = manifest.features.map((f) => (f.kind === "numeric" ? new NumericSketch({ range: f.range }) : new CategoricalSketch(f.categories!)));
    for (const row of rows) {
      manifest.features.forEach((f, i) => {
        const v = row[f.name as keyof typeof row];
        const sent = f.kind === "numeric" && typeof v === "string" ? NaN : v;
        if (f.kind === "numeric") (expected[i] as NumericSketch).update(sent as number, typeof sent === "number" ? blurValue(sent) : undefined);
        else expected[i]!.update(sent as never);
      });
    }
    expect(acc.features.map((s) => s.encode())).toEqual(expected.map((s) => s.encode()));
    expect(acc.prediction.encode()).not.toEqual(new Accumulator(manifest, 0).prediction.encode());
  });
});

describe("output decoding", () => {
  it("splits rows and reads argmax label and score", () => {
    const probs = new ort.Tensor("float32", Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.3, 0.2]), [2, 3]);
    const staged = new Float64Array(4);
    const rows = decodeOutputs(manifest, { probabilities: probs }, 2, staged, 0, "3");
    expect(rows.map((r) => [r.label, r.score, r.version])).toEqual([
      ["churn", Math.fround(0.7), "3"],
      ["stay", Math.fround(0.5), "3"],
    ]);
    expect(Array.from(staged)).toEqual([1, 0, Math.fround(0.7), Math.fround(0.5)]);
    expect(Array.from(rows[1]!.outputs.probabilities as Float32Array)).toEqual([0.5, 0.3, 0.2].map(Math.fround));
  });

  it("reads label tensors and regression values", () => {
    const m: Manifest = {
      ...manifest,
      outputs: [
        { name: "label", kind: "label", labels: ["no", "yes"] },
        { name: "value", kind: "regression" },
      ],
    };
    const staged = new Float64Array(5);
    const out = { label: new ort.Tensor("int64", BigInt64Array.from([1n, 0n]), [2]), value: new ort.Tensor("float32", Float32Array.from([2.5, -1]), [2, 1]) };
    const rows = decodeOutputs(m, out, 2, staged, 1, "1");
    expect(rows.map((r) => [r.label, r.score])).toEqual([
      ["yes", 2.5],
      ["no", -1],
    ]);
    expect(Array.from(staged)).toEqual([0, 1, 0, 2.5, -1]);
  });
});
