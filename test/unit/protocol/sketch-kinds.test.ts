// The sketch-kind registry (protocol/sketch/kinds.ts) and the key-limit rule (key-limit.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DriftlineError } from "../../../protocol/errors.ts";
import { LIMITS } from "../../../protocol/limits.ts";
import { TAG } from "../../../protocol/sketch/codec.ts";
import {
  type AnySketch,
  CategoricalSketch,
  ClassificationSketch,
  ConfusionMatrix,
  EmbeddingSketch,
  ErrorCounts,
  LatencySketch,
  NumericSketch,
  OVERFLOW_KEY,
  QuantileSketch,
  SKETCH_KINDS,
  type SketchKind,
  cloneSketch,
  decodeErrorCounts,
  decodeLatency,
  decodeSketch,
  emptyLike,
  matchSketch,
  mergeSketch,
} from "../../../protocol/sketch/index.ts";
import { addProbabilities } from "../../../protocol/sketch/prediction.ts";

/** One sketch of every kind, with data and parameters other than the defaults. */
function samples(): Record<SketchKind, AnySketch> {
  const numeric = new NumericSketch({ range: { min: 0, max: 10 }, k: 64 });
  [1, 2, 12, null, NaN].forEach((x) => numeric.update(x));
  const categorical = new CategoricalSketch(["a", "b"], 4);
  ["a", "b", "z", null].forEach((x) => categorical.update(x));
  const classification = new ClassificationSketch(["no", "yes"], 32);
  addProbabilities(classification, [0.3, 0.7]);
  const latency = new LatencySketch(48);
  latency.update("wasm", 2);
  const errors = new ErrorCounts();
  errors.update("input_schema", 3);
  const confusion = new ConfusionMatrix(["no", "yes"]);
  confusion.update(1, 0);
  const embedding = new EmbeddingSketch(3, 2);
  embedding.update([0.5, -1, 2], [0.1, -0.2]);
  return { numeric, categorical, classification, latency, errors, confusion, embedding };
}

const kinds = Object.keys(SKETCH_KINDS) as SketchKind[];
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof DriftlineError ? err.code : String(err);
  }
  return "no error";
};

describe("sketch-kind registry", () => {
  it("has a kind for every wire tag but the quantile sketch's, and decodes each by its tag", () => {
    expect(kinds.sort()).toEqual(
      Object.keys(TAG)
        .filter((t) => t !== "quantiles")
        .sort(),
    );
    for (const [kind, s] of Object.entries(samples())) {
      const decoded = decodeSketch(s.encode());
      expect(decoded).toBeInstanceOf(SKETCH_KINDS[kind as SketchKind].type);
      expect(decoded.encode()).toEqual(s.encode());
    }
  });

  it("refuses bytes of no kind as `decode`: empty, an unknown tag, a quantile sketch on its own", () => {
    const quantiles = new QuantileSketch();
    quantiles.update(1);
    for (const bytes of [new Uint8Array(), Uint8Array.of(0, 1), Uint8Array.of(8, 1), Uint8Array.of(0x82, 0), quantiles.encode()]) {
      expect(code(() => decodeSketch(bytes))).toBe("decode");
    }
  });

  it("makes an empty sketch like another: same kind and parameters, nothing in it, no shared state", () => {
    for (const s of Object.values(samples())) {
      const before = s.encode();
      const empty = emptyLike(s);
      expect(empty.constructor).toBe(s.constructor);
      expect(empty.encode()).toEqual(emptyLike(decodeSketch(before)).encode());
      expect(empty.encode()).not.toEqual(before);
      // same parameters: merging the original in gives it back exactly
      const copy = mergeSketch(empty, s);
      expect(copy.encode()).toEqual(before);
      expect(cloneSketch(s).encode()).toEqual(before);
      mergeSketch(copy, s);
      expect(s.encode()).toEqual(before);
    }
  });

  it("refuses to merge sketches of different kinds", () => {
    const all = samples();
    expect(code(() => mergeSketch(all.numeric, all.categorical))).toBe("sketch_mismatch");
    expect(code(() => mergeSketch(all.errors, all.latency))).toBe("sketch_mismatch");
  });

  it("dispatches each sketch to the case of its kind", () => {
    const cases = Object.fromEntries(kinds.map((k) => [k, () => k])) as { [K in SketchKind]: () => K };
    for (const [kind, s] of Object.entries(samples())) expect(matchSketch(s, cases)).toBe(kind);
  });
});

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
const total = (s: ErrorCounts) => [...s.counts.values()].reduce((a, b) => a + b, 0);
const calls = (s: LatencySketch) => [...s.backends.values()].reduce((a, q) => a + q.n, 0);

describe("past a sketch's key limit", () => {
  const limit = LIMITS.sketchKeys;

  it("updates count new keys under `other` once the sketch holds limit − 1 keys, and never throw", () => {
    const errors = new ErrorCounts();
    const latency = new LatencySketch();
    for (const key of names("k", 100)) {
      errors.update(key, 2);
      latency.update(key, 1);
    }
    for (const keys of [[...errors.counts.keys()], [...latency.backends.keys()]]) {
      expect(keys).toHaveLength(limit);
      expect(keys.slice(0, limit - 1)).toEqual(names("k", limit - 1));
      expect(keys.at(-1)).toBe(OVERFLOW_KEY);
    }
    expect(errors.counts.get(OVERFLOW_KEY)).toBe(2 * (100 - limit + 1));
    expect([total(errors), calls(latency)]).toEqual([200, 100]);
  });

  it("decodes as many keys as the limit without `other` as an update would have added them: the last one counts under `other`", () => {
    // what an older runtime, or any client, may encode: the maps filled past what update allows
    const errors = new ErrorCounts();
    const latency = new LatencySketch();
    for (const key of names("k", limit)) {
      errors.counts.set(key, 1);
      const q = new QuantileSketch(latency.k);
      q.update(5);
      latency.backends.set(key, q);
    }
    const e = decodeErrorCounts(errors.encode());
    const l = decodeLatency(latency.encode());
    for (const keys of [[...e.counts.keys()], [...l.backends.keys()]]) expect(keys).toEqual([...names("k", limit - 1), OVERFLOW_KEY]);
    // a new key then joins `other`: the sketch stays within the limit and decodes again
    e.merge(Object.assign(new ErrorCounts(), { counts: new Map([["new", 1]]) }));
    expect(e.counts.size).toBe(limit);
    expect(e.counts.get(OVERFLOW_KEY)).toBe(2);
    expect(decodeErrorCounts(e.encode()).counts).toEqual(e.counts);
  });

  it("keeps any merge of accepted sketches within the limit, decodable, with every count (random keys, parts, orders)", () => {
    const key = fc.oneof(
      fc.constantFrom(OVERFLOW_KEY, "wasm", "webgpu"),
      fc.integer({ min: 0, max: 150 }).map((i) => `k${i}`),
    );
    const part = fc.array(fc.tuple(key, fc.integer({ min: 1, max: 5 })), { maxLength: 90, size: "max" });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), fc.nat(), (parts, seed) => {
        // each part as a client may send it: any keys up to the decoders' limit, then decoded
        const errs = parts.map((p) => {
          const s = new ErrorCounts();
          for (const [k, n] of p) if (s.counts.has(k) || s.counts.size < limit) s.counts.set(k, (s.counts.get(k) ?? 0) + n);
          return decodeErrorCounts(s.encode());
        });
        const lats = errs.map((e) => {
          const s = new LatencySketch();
          for (const [k, n] of e.counts) for (let i = 0; i < n; i++) s.update(k, i);
          return decodeLatency(s.encode());
        });
        const want = errs.reduce((a, e) => a + total(e), 0);
        let x = seed;
        const order = <T>(xs: T[]) => {
          const out = [...xs];
          for (let i = out.length - 1; i > 0; i--) {
            const j = (x = (x * 1103515245 + 12345) >>> 0) % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        const e = order(errs).reduce((a, b) => mergeSketch(a, b));
        const l = order(lats).reduce((a, b) => mergeSketch(a, b));
        for (const map of [e.counts, l.backends]) {
          expect(map.size).toBeLessThanOrEqual(limit);
          if (map.size === limit) expect(map.has(OVERFLOW_KEY)).toBe(true);
        }
        expect([total(e), calls(l)]).toEqual([want, want]);
        expect(decodeErrorCounts(e.encode()).counts).toEqual(e.counts);
        expect(decodeLatency(l.encode()).encode()).toEqual(l.encode());
      }),
      { numRuns: 80 },
    );
  });
});

describe("numeric sketch", () => {
  it("counts values past float32's range (a sentinel Number.MAX_VALUE, ±1e200) as non-finite, so its bytes still decode", () => {
    // the first squares past float64's range in M2, the second is blurred to Infinity; a float32 input holds both as ±Infinity
    // the largest float32s stay values
    const answers = [[1e200, -1e200], [Number.MAX_VALUE], [3.4e38, -3.4e38]].map((values) => {
      const s = new NumericSketch();
      for (const v of [...values, 3, 4]) s.update(v);
      const d = code(() => decodeSketch(s.encode()));
      return [d, s.nonFinite, s.count];
    });
    expect(answers).toEqual([
      ["no error", 2, 2],
      ["no error", 1, 2],
      ["no error", 0, 4],
    ]);
  });
});
