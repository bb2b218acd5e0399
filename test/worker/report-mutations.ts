import fc from "fast-check";
import { LIMITS } from "../../protocol/limits.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { CategoricalSketch, ClassificationSketch, ConfusionMatrix, ErrorCounts, LatencySketch, NumericSketch, fromBase64, toBase64 } from "../../protocol/sketch/index.ts";
import { TAG, Writer, f32Key } from "../../protocol/sketch/codec.ts";
import { makeReport } from "./ingest-helpers.ts";

// Hostile variants of valid reports for the ingest fuzz (test/worker/collector/ingest/ingest-fuzz.test.ts): a
// valid report of the two-feature test model (`makeReport`) plus a list of mutations, all plain
// data so fast-check can print a failing case, applied by `buildReport`.

/** JSON text that `JSON.stringify` cannot produce (deep nesting, `-0`, `1e400`), spliced in by {@link toJson}. */
export class RawJson {
  /** @param text - the JSON text, sent as it is */
  constructor(readonly text: string) {}
}

const RAW_MARK = "\u0000\u0001raw";
const RAW_PLACE = /"\\u0000\\u0001raw(\d+)"/g;

/**
 * `JSON.stringify` with every {@link RawJson} replaced by its text. Deep nesting is built as text
 * here, never as objects: stringifying a 100,000-deep object would overflow the test's own stack.
 *
 * @param value - anything JSON.stringify takes, possibly holding RawJson values
 */
export function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawJson ? `${RAW_MARK}${raws.push(v.text) - 1}` : v));
  return raws.length ? text.replace(RAW_PLACE, (_, i: string) => raws[Number(i)]!) : text;
}

/** Arrays (or objects) nested `depth` deep. */
export function deepJson(depth: number, kind: "array" | "object" = "array"): RawJson {
  return kind === "array" ? new RawJson("[".repeat(depth) + "]".repeat(depth)) : new RawJson(`${'{"a":'.repeat(depth)}0${"}".repeat(depth)}`);
}

const BIG = [2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 2 ** 31 - 1, LIMITS.reportRows, LIMITS.reportRows + 1, 1e308, -1e308, Number.MIN_VALUE, -1, 0, 0.5, 1.5, 1 + 2 ** -52, 1e15];
const RAW_NUMBERS = ["-0", "1e400", "-1e400", "1.0", "1E0", "9007199254740993", "1e-400", "0.1e1", "100000000000000000000000000000"].map((t) => new RawJson(t));
const ODD_STRINGS = ["NaN", "Infinity", "-Infinity", "-0", "1e308", "0x10", "", " ", "\u0000", "☃", "\ud800", "a\nb", "__proto__", "../../etc", "<script>", "%00", "=", "AAAA", "live", "shadow"];

// Huge strings and deep nesting are rarer than the rest: a batch with many of them would pass
// the batch byte limit and be refused whole, its reports never examined one by one.
/** A value where the schema expects something else (or the same type at its edges). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<unknown>(...BIG, ...RAW_NUMBERS, ...ODD_STRINGS, null, true, false, [], {}, [1], { a: 1 }) },
  { weight: 4, arbitrary: fc.anything({ maxDepth: 2, maxKeys: 4 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(65, 129, 257, 5_000, LIMITS.reportBytes + 1).map((n) => "A".repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(deepJson(100), deepJson(1_000), deepJson(20_000), deepJson(100, "object"), deepJson(5_000, "object")) },
);

/** Fields a mutation may touch: top-level ones, and inside features, segment and shadow. */
const FIELD_PATHS: string[][] = [
  ...["id", "model", "version", "role", "client", "start", "end", "segment", "rows", "sampleRate", "features", "prediction", "latency", "errors", "confusion", "residual", "shadow"].map((k) => [k]),
  ["__proto__"],
  ["constructor"],
  ["extra"],
  ["features", "tenure"],
  ["features", "plan"],
  ["features", "income"],
  ["features", "__proto__"],
  ["features", ""],
  ["segment", "backend"],
  ["segment", "appVersion"],
  ["segment", "bad key!"],
  ["segment", "k".repeat(33)],
  ["shadow", "version"],
  ["shadow", "rows"],
  ["shadow", "agree"],
  ["shadow", "prediction"],
];

/** Where a report holds a sketch (a slot the report leaves empty starts from `defaultSketch`). */
const SKETCH_PATHS: string[][] = [["features", "tenure"], ["features", "plan"], ["prediction"], ["latency"], ["errors"], ["confusion"], ["shadow", "prediction"]];

/** A varint's bytes; `long` pads it with continuation bytes (a non-minimal encoding). */
function varintBytes(n: number, long = 0): number[] {
  const w = new Writer();
  w.varint(n);
  const bytes = [...w.bytes()];
  for (let i = 0; i < long; i++) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(0);
  }
  return bytes;
}

const EDGE_COUNTS = [0, 1, 127, 128, 2 ** 14, 2 ** 21, 2 ** 31, 2 ** 32, 2 ** 49, 2 ** 50, 2 ** 52, 2 ** 53 - 1, LIMITS.reportRows, LIMITS.reportRows + 1];

/** A count where a sketch has one: small, near the report's rows, or near a limit. */
const count = fc.oneof(fc.nat(40), fc.constantFrom(...EDGE_COUNTS));

/** Numeric sketch bytes written field by field, KLL levels included, with any counts. */
const craftedNumeric = fc
  .record({
    range: fc.constantFrom<[number, number] | null>([0, 120], null, [0, 121], [120, 0], [-0, 120]),
    missing: count,
    nonFinite: count,
    outOfRange: count,
    mean: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(NaN, Infinity, 1e308)),
    m2: fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-1, NaN)),
    k: fc.constantFrom(200, 8, 7, 4096, 4097, 199),
    // items per level (level h weighs 2^h), and each level's coin (0, 1, or 2 before the first compaction)
    levels: fc.array(fc.tuple(fc.nat(3), fc.nat(2)), { minLength: 0, maxLength: 62 }),
    top: fc.option(fc.tuple(fc.constantFrom(20, 30, 52, 53, 59), fc.integer({ min: 1, max: 2 })), { nil: undefined }),
    values: fc.array(fc.double({ min: -10, max: 130, noNaN: true }), { maxLength: 200 }),
    minMax: fc.constantFrom<[number, number] | null>(null, [0, 120], [120, 0], [0, 1e308]),
  })
  .map((c) => {
    const w = new Writer();
    w.varint(TAG.numeric);
    w.varint(1);
    w.varint(c.range ? 1 : 0);
    if (c.range) c.range.forEach((x) => w.f64(x));
    w.varint(c.missing);
    w.varint(c.nonFinite);
    w.varint(c.outOfRange);
    w.f64(c.mean);
    w.f64(c.m2);
    w.varint(c.k);
    const levels = [...c.levels];
    if (c.top) {
      while (levels.length <= c.top[0]) levels.push([0, 2]);
      levels[c.top[0]] = [c.top[1], 1];
    }
    w.varint(levels.length);
    for (const [n, coin] of levels) w.varint(n * 3 + coin);
    const items = levels.reduce((n, [len]) => n + len, 0);
    if (items > 0) {
      const sorted = [...c.values].sort((a, b) => a - b);
      const [min, max] = c.minMax ?? [sorted[0] ?? 0, sorted[sorted.length - 1] ?? 0];
      w.f64(min);
      w.f64(max);
      let v = 0;
      for (const [len] of levels) {
        let prev = 0;
        for (let i = 0; i < len; i++) {
          const key = f32Key(sorted[v++ % Math.max(1, sorted.length)] ?? 0);
          w.varint(Math.max(0, key - prev));
          prev = Math.max(prev, key);
        }
      }
    }
    return w.bytes();
  });

/** Categorical sketch bytes written field by field, with any counts and heavy hitters. */
const craftedCategorical = fc
  .record({
    categories: fc.constantFrom(["basic", "pro"], ["pro", "basic"], ["basic"], [], ["basic", "basic"]),
    capacity: fc.constantFrom(LIMITS.heavyHitters, 0, 1, LIMITS.heavyHittersMax, LIMITS.heavyHittersMax + 1),
    counts: fc.array(count, { minLength: 0, maxLength: 3 }),
    other: count,
    missing: count,
    heavy: fc.array(fc.tuple(fc.string({ maxLength: 70 }), count), { maxLength: 4 }),
  })
  .map((c) => {
    const w = new Writer();
    w.varint(TAG.categorical);
    w.varint(1);
    w.strs(c.categories);
    w.varint(c.capacity);
    for (let i = 0; i < c.categories.length; i++) w.varint(c.counts[i] ?? 0);
    w.varint(c.other);
    w.varint(c.missing);
    w.varint(c.heavy.length);
    for (const [key, n] of c.heavy) {
      w.str(key);
      w.varint(n);
    }
    return w.bytes();
  });

/** A valid sketch of another kind, or of the right kind with other parameters. */
const otherSketch = fc
  .constantFrom(
    () => new NumericSketch().encode(),
    () => new NumericSketch({ range: { min: 0, max: 120 }, k: 100 }).encode(),
    () => new CategoricalSketch(["basic", "pro"], 10).encode(),
    () => new ClassificationSketch(["yes", "no"]).encode(),
    () => new LatencySketch(100).encode(),
    () => {
      const e = new ErrorCounts();
      e.update("x", 2 ** 40);
      return e.encode();
    },
  )
  .map((make) => make());

/** One change to a valid sketch's bytes. */
export type ByteEdit =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "append"; bytes: number[] }
  | { op: "setByte"; at: number; byte: number }
  | { op: "varint"; at: number; drop: number; value: number; long: number }
  | { op: "retag"; tag: number };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("append" as const), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 12 }) }),
  fc.record({ op: fc.constant("setByte" as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff) }),
  fc.record({ op: fc.constant("varint" as const), at: fc.nat(), drop: fc.nat(3), value: fc.constantFrom(...EDGE_COUNTS), long: fc.constantFrom(0, 0, 1, 3) }),
  fc.record({ op: fc.constant("retag" as const), tag: fc.nat(9) }),
);

/** `bytes` with `edit` applied (positions wrap around the length). */
export function editBytes(bytes: Uint8Array, edit: ByteEdit): Uint8Array {
  const out = [...bytes];
  const at = (i: number) => (out.length ? i % out.length : 0);
  switch (edit.op) {
    case "flip":
      if (out.length) out[at(edit.at)]! ^= 1 << edit.bit;
      break;
    case "truncate":
      out.length = at(edit.at);
      break;
    case "append":
      out.push(...edit.bytes);
      break;
    case "setByte":
      if (out.length) out[at(edit.at)] = edit.byte;
      break;
    case "varint":
      out.splice(at(edit.at), edit.drop, ...varintBytes(edit.value, edit.long));
      break;
    case "retag":
      out[0] = edit.tag;
      break;
  }
  return Uint8Array.from(out);
}

/** How a sketch's base64 text is spoiled after the bytes. */
const TEXT_EDITS = ["none", "none", "none", "unpadded", "whitespace", "urlSafe", "badChar", "extraPad", "empty"] as const;
type TextEdit = (typeof TEXT_EDITS)[number];

function editText(text: string, edit: TextEdit): string {
  switch (edit) {
    case "none":
      return text;
    case "unpadded":
      return text.replace(/=+$/, "");
    case "whitespace":
      return `${text.slice(0, 4)}\n ${text.slice(4)}`;
    case "urlSafe":
      return text.replaceAll("+", "-").replaceAll("/", "_");
    case "badChar":
      return `${text.slice(0, 2)}*${text.slice(3)}`;
    case "extraPad":
      return `${text}==`;
    case "empty":
      return "";
  }
}

/** A hostile sketch for one slot: the slot's own bytes edited, crafted bytes, or another valid sketch. */
export type SketchSource = { from: "own"; edits: ByteEdit[] } | { from: "bytes"; bytes: Uint8Array; edits: ByteEdit[] };

const sketchSource: fc.Arbitrary<SketchSource> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ from: fc.constant("own" as const), edits: fc.array(byteEdit, { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ from: fc.constant("bytes" as const), bytes: craftedNumeric, edits: fc.array(byteEdit, { maxLength: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ from: fc.constant("bytes" as const), bytes: craftedCategorical, edits: fc.array(byteEdit, { maxLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ from: fc.constant("bytes" as const), bytes: otherSketch, edits: fc.constant<ByteEdit[]>([]) }) },
);

/** One change to a report. */
export type Mutation =
  | { op: "remove"; path: string[] }
  | { op: "set"; path: string[]; value: unknown }
  | { op: "sketch"; path: string[]; source: SketchSource; text: TextEdit }
  | { op: "duplicateKey"; key: string; value: unknown }
  | { op: "floodSegment"; keys: number }
  | { op: "floodFeatures"; features: number }
  | { op: "reuseId"; earlier: number };

/** A mutation of a valid report: a field removed or replaced, a sketch spoiled, a key repeated, a limit exceeded, an earlier id reused. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("remove" as const), path: fc.constantFrom(...FIELD_PATHS) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), path: fc.constantFrom(...FIELD_PATHS), value: hostileValue }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("sketch" as const), path: fc.constantFrom(...SKETCH_PATHS), source: sketchSource, text: fc.constantFrom(...TEXT_EDITS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicateKey" as const), key: fc.constantFrom("rows", "id", "version", "features", "start"), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("floodSegment" as const), keys: fc.constantFrom(LIMITS.segmentKeys, LIMITS.segmentKeys + 1, 40) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("floodFeatures" as const), features: fc.constantFrom(3, LIMITS.features + 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reuseId" as const), earlier: fc.nat() }) },
);

/** The valid report a case starts from (see `makeReport` for the fields). */
export interface BaseReport {
  tenure: number[];
  plan: (string | null)[];
  client: number;
  /** Minutes before now the report's period starts. */
  ago: number;
  segment: Record<string, string>;
  errors: Record<string, number>;
  latencyMs: number[];
}

/** Valid reports: 0 to 30 rows, values in and out of the feature range, a few clients, segments and errors. */
export const baseReport: fc.Arbitrary<BaseReport> = fc.record({
  tenure: fc.array(fc.oneof(fc.double({ min: 0, max: 120, noNaN: true }), fc.constantFrom(-5, 500, NaN, 0, 120)), { maxLength: 30 }),
  plan: fc.array(fc.constantFrom("basic", "pro", null, "enterprise"), { minLength: 1, maxLength: 4 }),
  client: fc.nat(40),
  ago: fc.nat(180),
  segment: fc.constantFrom<Record<string, string>>({}, { backend: "wasm" }, { backend: "webgpu", appVersion: "1.2" }, { country: "NZ" }),
  errors: fc.constantFrom<Record<string, number>>({}, {}, { input_schema: 1 }, { backend_failed: 2 }),
  latencyMs: fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 3 }),
});

/** A report case: the valid report, and the mutations (none for about a third of the cases). */
export const reportCase = fc.record({
  base: baseReport,
  mutations: fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) }),
});

/** What a case is built with besides its own data. */
export interface CaseContext {
  model: string;
  version: number;
  /** The id of this report before mutations (unique in the test run). */
  id: string;
  /** Ids sent before this batch, for `reuseId`. */
  earlierIds: readonly string[];
  now: number;
}

/** Sets an own property (also `__proto__`, which plain assignment would treat as the prototype). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function container(report: Record<string, unknown>, path: string[]): Record<string, unknown> | undefined {
  let at: unknown = report;
  for (const key of path.slice(0, -1)) {
    if (key === "shadow" && at === report && report.shadow === undefined) define(report, "shadow", { version: 1, rows: 1 });
    at = (at as Record<string, unknown>)[key];
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
  }
  return at as Record<string, unknown>;
}

/** The bytes of a slot's sketch, unless an earlier mutation left something else there. */
function ownSketch(value: unknown): Uint8Array | undefined {
  try {
    return typeof value === "string" ? fromBase64(value) : undefined;
  } catch {
    return undefined;
  }
}

/** A valid sketch for a slot the report does not fill. */
function defaultSketch(path: string[]): Uint8Array {
  const slot = path.join(".");
  if (slot === "errors") return new ErrorCounts().encode();
  if (slot === "confusion") return new ConfusionMatrix(["no", "yes"]).encode();
  return new ClassificationSketch(["no", "yes"]).encode();
}

/**
 * The report a case describes: the valid report with the mutations applied in order. A
 * `duplicateKey` mutation makes the whole report {@link RawJson} text, so it comes last.
 *
 * @param c - the case
 * @param ctx - model, version, id and earlier ids
 */
export function buildReport(c: { base: BaseReport; mutations: Mutation[] }, ctx: CaseContext): Report | Record<string, unknown> | RawJson {
  const { base } = c;
  // a copy: the segment objects are fast-check constants, shared by every case
  const report = {
    ...structuredClone(
      makeReport(ctx.model, ctx.version, {
        client: `client-${base.client}`,
        start: ctx.now - base.ago * 60_000,
        segment: base.segment,
        tenure: base.tenure,
        plan: base.plan,
        errors: base.errors,
        latencyMs: base.latencyMs,
      }),
    ),
    id: ctx.id,
  } as Record<string, unknown>;
  let duplicate: { key: string; value: unknown } | undefined;
  for (const m of c.mutations) {
    if (m.op === "duplicateKey") duplicate = m;
    else if (m.op === "reuseId") {
      if (ctx.earlierIds.length) report.id = ctx.earlierIds[m.earlier % ctx.earlierIds.length];
    } else if (m.op === "floodSegment") report.segment = Object.fromEntries(Array.from({ length: m.keys }, (_, i) => [`k${i}`, `v${i}`]));
    else if (m.op === "floodFeatures") {
      const features = { ...(report.features as Record<string, string>) };
      // a few copies of a real sketch, then short ones: the flood is about the count of features
      for (let i = 0; i < m.features; i++) features[`f${i}`] = i < 3 ? (features.tenure ?? "") : "AA==";
      report.features = features;
    } else {
      const at = container(report, m.path);
      const key = m.path[m.path.length - 1]!;
      if (!at) continue;
      if (m.op === "remove") delete at[key];
      else if (m.op === "set") define(at, key, m.value);
      else {
        const own = ownSketch(at[key]) ?? defaultSketch(m.path);
        const bytes = m.source.edits.reduce(editBytes, m.source.from === "own" ? own : m.source.bytes);
        define(at, key, editText(toBase64(bytes), m.text));
      }
    }
  }
  if (!duplicate) return report;
  return new RawJson(`${toJson(report).slice(0, -1)},${JSON.stringify(duplicate.key)}:${toJson(duplicate.value) ?? "null"}}`);
}
