import { describe, expect, test } from "vitest";
import { DriftlineError } from "../../../protocol/errors.ts";
import { LIMITS } from "../../../protocol/limits.ts";
import { parseAssignment, parseErrorEnvelope, parseJson, parseManifest, parseReportBatch, type Manifest, type Report } from "../../../protocol/schema/index.ts";
import { CategoricalSketch } from "../../../protocol/sketch/categorical.ts";
import { toBase64 } from "../../../protocol/sketch/codec.ts";
import { NumericSketch } from "../../../protocol/sketch/numeric.ts";

const tenure = new NumericSketch({ range: { min: 0, max: 72 } });
[1, 5, 12, 40].forEach((x) => tenure.update(x));
const plan = new CategoricalSketch(["basic", "pro"]);
["basic", "pro", "pro"].forEach((x) => plan.update(x));

function manifest(): Manifest {
  return {
    format: 1,
    model: "churn",
    sha256: "a".repeat(64),
    size: 1024,
    inputs: [{ name: "features", dtype: "float32", shape: [-1, 3] }],
    features: [
      { name: "tenure", kind: "numeric", input: "features", index: 0, range: { min: 0, max: 72 }, policy: "clamp" },
      { name: "plan", kind: "categorical", input: "features", index: 1, categories: ["basic", "pro"], encoding: "onehot", policy: "impute", impute: "basic" },
    ],
    outputs: [{ name: "probabilities", kind: "probabilities", labels: ["stay", "churn"] }],
    profile: {
      format: 1,
      rows: 4,
      createdAt: "2025-01-01T00:00:00Z",
      features: { tenure: { kind: "numeric", sketch: toBase64(tenure.encode()) }, plan: { kind: "categorical", sketch: toBase64(plan.encode()) } },
    },
  };
}

function report(overrides: Partial<Report> = {}): Report {
  return {
    id: "r-1",
    model: "churn",
    version: 3,
    role: "live",
    client: "c-1",
    start: 1_700_000_000_000,
    end: 1_700_000_060_000,
    segment: { backend: "wasm", appVersion: "4.2" },
    rows: 4,
    sampleRate: 1,
    features: { tenure: toBase64(tenure.encode()) },
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DriftlineError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return "ok";
}

describe("manifest", () => {
  test("a valid manifest parses", () => {
    expect(parseManifest(manifest()).features).toHaveLength(2);
  });

  test.each([
    ["bad sha256", (m: Manifest) => void (m.sha256 = "xyz"), /validation: manifest: sha256/],
    ["unknown input", (m: Manifest) => void (m.features[0]!.input = "pixels"), /features\.0\.input/],
    ["categorical without categories", (m: Manifest) => void delete m.features[1]!.categories, /categories/],
    ["onehot outside the tensor", (m: Manifest) => void (m.features[1]!.index = 2), /outside input/],
    ["overlapping columns", (m: Manifest) => void (m.features[0]!.index = 2), /also used by/],
    ["duplicate feature", (m: Manifest) => void m.features.push({ ...m.features[0]!, index: 5 }), /duplicate feature/],
    ["impute without value", (m: Manifest) => void delete m.features[1]!.impute, /impute/],
    [
      "a numeric impute value past float32's range (the runtime takes it as no number: every missing value refused)",
      (m: Manifest) => void Object.assign(m.features[0]!, { policy: "impute", impute: 1e39 }),
      /features\.0\.impute: .*float32/,
    ],
    ["profile kind mismatch", (m: Manifest) => void (m.profile.features.tenure!.kind = "categorical"), /profile\.features\.tenure/],
    ["bad profile sketch", (m: Manifest) => void (m.profile.features.tenure!.sketch = "@@@"), /sketch/],
    ["statistics of no tensor", (m: Manifest) => void (m.tensorStats = ["pixels"]), /tensorStats\.0: no input or output named "pixels"/],
    ["statistics of a tensor twice", (m: Manifest) => void (m.tensorStats = ["features", "features"]), /duplicate tensor/],
    ["a tensor statistic named as a feature", (m: Manifest) => void ((m.features[0]!.name = "features.mean"), (m.tensorStats = ["features"])), /duplicate feature "features\.mean"/],
    [
      "an embedding output the manifest's embedding does not name",
      (m: Manifest) => void m.outputs.push({ name: "vector", kind: "embedding" }),
      /outputs\.1\.kind: "vector" is not the output the manifest's embedding names/,
    ],
    ["a profile sketch of a statistic not asked for", (m: Manifest) => void (m.profile.features["features.mean"] = m.profile.features.tenure!), /profile\.features\.features\.mean/],
  ])("%s is a validation error naming the path", (_, edit, message) => {
    const m = manifest();
    edit(m);
    expect(codeOf(() => parseManifest(m))).toMatch(/^validation: /);
    expect(codeOf(() => parseManifest(m))).toMatch(message);
  });

  test("too many categories or features is limit_exceeded", () => {
    const m = manifest();
    m.features[1]!.categories = Array.from({ length: LIMITS.categories + 1 }, (_, i) => `c${i}`);
    expect(codeOf(() => parseManifest(m))).toMatch(/^limit_exceeded: manifest: features\.1\.categories/);
    const n = manifest();
    n.features = Array.from({ length: LIMITS.features + 1 }, (_, i) => ({ ...n.features[0]!, name: `f${i}`, index: i }));
    expect(codeOf(() => parseManifest(n))).toMatch(/^limit_exceeded/);
  });

  test("more features than a report holds with those derived from tensors is limit_exceeded: the collector would refuse every report", () => {
    const m = manifest();
    m.inputs[0]!.shape = ["batch", LIMITS.features];
    m.features = Array.from({ length: LIMITS.features - 2 }, (_, i) => ({ ...m.features[0]!, name: `f${i}`, index: i }));
    // five statistics of the tensor: a report of 515 feature sketches
    m.tensorStats = ["features"];
    m.profile.features = {};
    expect(codeOf(() => parseManifest(m))).toMatch(/^limit_exceeded: manifest: features: 515 features/);
    expect(() => parseReportBatch({ reports: [report({ features: Object.fromEntries(Array.from({ length: 515 }, (_, i) => [`f${i}`, "AA"])) })] })).toThrow(/reports\.0\.features: more than 512/);
  });
});

describe("report batch", () => {
  test("a valid batch parses", () => {
    expect(parseReportBatch({ reports: [report()] }).reports[0]!.segment.backend).toBe("wasm");
  });

  test("limits: reports per batch, segment keys, report bytes, id length", () => {
    const many = Array.from({ length: LIMITS.reportsPerBatch + 1 }, () => report());
    expect(codeOf(() => parseReportBatch({ reports: many }))).toMatch(/^limit_exceeded: reports: reports/);
    const segment = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, "v"]));
    expect(codeOf(() => parseReportBatch({ reports: [report({ segment })] }))).toMatch(/^limit_exceeded: reports: reports\.0\.segment/);
    const big = toBase64(new Uint8Array(LIMITS.reportBytes / 2));
    expect(codeOf(() => parseReportBatch({ reports: [report({ features: { a: big, b: big } })] }))).toMatch(/^limit_exceeded/);
    expect(codeOf(() => parseReportBatch({ reports: [report({ id: "x".repeat(65) })] }))).toMatch(/^limit_exceeded/);
  });

  test("invalid fields are validation errors", () => {
    expect(codeOf(() => parseReportBatch({ reports: [report({ end: 0 })] }))).toMatch(/^validation: reports: reports\.0\.end/);
    expect(codeOf(() => parseReportBatch({ reports: [report({ sampleRate: 0 })] }))).toMatch(/^validation/);
    expect(codeOf(() => parseReportBatch({ reports: [report({ role: "canary" as "live" })] }))).toMatch(/^validation/);
    expect(codeOf(() => parseReportBatch(null))).toMatch(/^validation: reports: \(root\)/);
  });
});

describe("assignment, error envelope, JSON", () => {
  test("assignment with a shadow parses; its manifests carry no reference profile", () => {
    const { profile: _profile, ...clientManifest } = manifest();
    const a = { model: "churn", version: 3, role: "canary", manifest: clientManifest, sampleRate: 0.5, configVersion: 7, shadow: { version: 4, manifest: clientManifest, sampleRate: 0.1 } };
    expect(parseAssignment(a).shadow?.version).toBe(4);
    expect(codeOf(() => parseAssignment({ ...a, sampleRate: 2 }))).toMatch(/^validation: assignment: sampleRate/);
    expect(codeOf(() => parseAssignment({ ...a, manifest: manifest() }))).toMatch(/^validation: assignment: manifest: Unrecognized key: "profile"/);
  });

  test("manifests reject unknown fields, so a typo never passes silently", () => {
    expect(codeOf(() => parseManifest({ ...manifest(), preferedBackend: "wasm" }))).toMatch(/^validation: manifest: \(root\): Unrecognized key: "preferedBackend"/);
  });

  test("error envelope", () => {
    expect(parseErrorEnvelope({ error: { code: "not_found", message: "no model" } }).error.code).toBe("not_found");
    expect(codeOf(() => parseErrorEnvelope({ error: "x" }))).toMatch(/^validation/);
  });

  test("parseJson enforces the byte limit and JSON syntax", () => {
    expect(parseJson('{"a":1}', 100)).toEqual({ a: 1 });
    expect(codeOf(() => parseJson('{"a":"ééééé"}', 12))).toMatch(/^payload_too_large/);
    expect(codeOf(() => parseJson("{", 100))).toMatch(/^validation/);
  });
});
