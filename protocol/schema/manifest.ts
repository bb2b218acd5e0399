import { z } from "zod";
import { LIMITS, MAX_TARGET_STEP } from "../limits.ts";
import { boundedRecord, findDuplicate, modelNameSchema, nameSchema, rateSchema, versionSchema } from "./common.ts";
import { featureKindSchema, referenceProfileSchema } from "./profile.ts";
import { mediaSchema } from "./media.ts";
import { MAX_EMBEDDING_DIMS, MAX_KERNEL_FEATURES } from "../sketch/embedding.ts";
import { isFloat32Finite } from "../sketch/codec.ts";
import { derivedFeatures } from "../preprocess/descriptors.ts";

/** ONNX tensor element types Driftline feeds. */
export const dtypeSchema = z.enum(["float32", "float16", "float64", "int8", "uint8", "int16", "int32", "int64", "bool", "string"]);

/**
 * A model input tensor; dimensions are sizes, or -1 / a name when dynamic. `media`: the input takes
 * an image, audio or text, preprocessed as it says, and adds descriptor features
 * (protocol/preprocess/descriptors.ts).
 */
export const inputSchema = z.object({
  name: nameSchema,
  dtype: dtypeSchema,
  shape: z.array(z.union([z.int().min(-1), nameSchema])).max(8),
  media: mediaSchema.optional(),
});

/** A power of ten every value of a column is a whole multiple of (protocol/blur.ts `valueStep`). */
const stepSchema = z.number().min(1e-6).max(1e6);

/** The smallest and largest value of a column. */
const rangeSchema = z.object({ min: z.number(), max: z.number() }).refine((r) => r.min <= r.max, "min above max");

/**
 * A named feature and where it goes: column `index` of input `input` (a one-hot
 * categorical occupies `index … index + categories.length - 1`).
 */
export const featureSchema = z.object({
  name: nameSchema,
  kind: featureKindSchema,
  input: nameSchema,
  index: z.int().min(0),
  dtype: dtypeSchema.optional(),
  range: rangeSchema.optional(),
  categories: z.array(nameSchema).max(LIMITS.categories).optional(),
  encoding: z.enum(["index", "onehot"]).optional(),
  /**
   * What to do with a missing or invalid value: reject the row, clamp to range, impute, or
   * (categorical only) feed an unknown category as none, as scikit-learn's
   * `OneHotEncoder(handle_unknown="ignore")` does (protocol/row-encoding.ts `featureValue`).
   */
  policy: z.enum(["reject", "clamp", "impute", "ignore"]),
  impute: z.union([z.number(), z.string()]).optional(),
  nullable: z.boolean().optional(),
  /**
   * Every reference value of this numeric feature is a whole multiple of `step` (a power of ten:
   * 1 for counts), so the privacy grid's cells are at least two steps wide here and rounding a
   * recorded value does not give the input back (protocol/blur.ts `narrowestCell`).
   */
  step: stepSchema.optional(),
});

/**
 * A model output and how to read it: `probabilities` give the top class and its score, `label` a
 * class, `score` and `regression` a value; `embedding` is the output the manifest's `embedding`
 * names, a vector the app reads and devices sketch, but neither a class nor a score.
 */
export const outputSchema = z.object({
  name: nameSchema,
  kind: z.enum(["probabilities", "label", "score", "regression", "embedding"]),
  labels: z.array(nameSchema).max(LIMITS.categories).optional(),
  /**
   * Every reference target of this `regression` or `score` output is `targets.min` plus a whole
   * multiple of `step` (0.5 for half-star ratings; cli/target-recording.ts), and they span
   * `targets`: with both, devices record a label as one of two (or three) values
   * the targets can take (protocol/blur.ts `pairedLabel`), so that a residual (label −
   * prediction) does not give a label back (docs/privacy.md "Labels of a regression"); with a
   * `step` alone, as the multiples of `step` from 0, paired. Not only a power of ten: up to
   * {@link MAX_TARGET_STEP}, so that targets in ten millions are not paired with values they
   * never take.
   */
  step: z.number().min(1e-6).max(MAX_TARGET_STEP).optional(),
  targets: rangeSchema.optional(),
});

/** Drift tests. */
export const driftTestSchema = z.enum(["ks", "chi2", "psi", "js", "wasserstein"]);

/** Override of the drift test and/or threshold. */
export const driftRuleSchema = z.object({ test: driftTestSchema.optional(), threshold: z.number().min(0).optional() });

/** Per-model drift settings; anything left out uses the defaults (docs/drift.md). */
export const driftConfigSchema = z.object({
  /** Equal-mass bins of the reference for PSI, JS and chi-squared. @defaultValue 10 */
  bins: z.int().min(2).max(100).optional(),
  /** Share of drifted features at which the dataset drifts. @defaultValue 0.5 */
  share: rateSchema.optional(),
  numeric: driftRuleSchema.optional(),
  categorical: driftRuleSchema.optional(),
  prediction: driftRuleSchema.optional(),
  features: boundedRecord(nameSchema, driftRuleSchema, LIMITS.features).optional(),
  /**
   * Verdicts of features judged by a p-value test (KS, chi-squared) compare the p-value adjusted
   * across the window's features with the threshold, which is then a false discovery rate.
   * @defaultValue "none"
   */
  correction: z.enum(["none", "benjamini-hochberg"]).optional(),
  /**
   * `calibrated`: features judged by a distance drift when it passes what the profile's
   * calibration shows between reference chunks, for the window's size (docs/drift.md);
   * `evidently`: fixed thresholds. @defaultValue "evidently"
   */
  verdicts: z.enum(["evidently", "calibrated"]).optional(),
});

/** Everything a manifest holds but the reference profile: what clients need. */
const clientManifestShape = {
  format: z.literal(1),
  model: modelNameSchema,
  version: versionSchema.optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex characters"),
  size: z.int().min(1),
  inputs: z.array(inputSchema).min(1).max(LIMITS.tensors),
  features: z.array(featureSchema).max(LIMITS.features),
  outputs: z.array(outputSchema).min(1).max(LIMITS.tensors),
  preferredBackend: z.enum(["webgpu", "wasm"]).optional(),
  drift: driftConfigSchema.optional(),
  /**
   * The model's embedding (an output, or a vector the app passes) and how devices summarise it:
   * a seeded projection to `dims` components (each clipped to ±`clip`) and `features` random
   * Fourier features of an RBF kernel of `bandwidth` (protocol/embedding.ts; docs/models.md
   * "Embeddings").
   */
  embedding: z
    .strictObject({
      output: nameSchema.optional(),
      length: z.int().min(1).max(65_536),
      dims: z.int().min(1).max(MAX_EMBEDDING_DIMS),
      features: z.int().min(1).max(MAX_KERNEL_FEATURES),
      seed: z
        .int()
        .min(1)
        .max(2 ** 32 - 1),
      bandwidth: z.number().positive().max(1e12),
      /** Each projected component is clipped to ±clip on devices and in the profile; the collector refuses sums past it. */
      clip: z.number().positive().max(1e12).optional(),
    })
    .optional(),
  /**
   * Inputs and outputs whose statistics every `run(feeds)` call reports as the numeric features
   * `<tensor>.mean`, `.std`, `.min`, `.max` and `.nonFinite` (protocol/preprocess/tensor-stats.ts).
   */
  tensorStats: z.array(nameSchema).max(LIMITS.tensors).optional(),
  meta: boundedRecord(nameSchema, z.string().max(1024), LIMITS.metaKeys).optional(),
  /** The publisher's Ed25519 signature of the manifest (protocol/signature.ts). */
  signature: z.strictObject({ key: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "key: 32 bytes, base64url"), value: z.string().regex(/^[A-Za-z0-9_-]{86}$/, "value: 64 bytes, base64url") }).optional(),
};

type Issues = { value: z.infer<z.ZodObject<typeof clientManifestShape>>; issues: z.core.$ZodRawIssue[] };

/** Names unique; every feature inside its input, columns not shared; categories and labels unique; statistics of tensors the model has; no more features, derived ones included, than a report holds. */
function checkStructure(ctx: Issues): void {
  const m = ctx.value;
  const problem = (path: PropertyKey[], message: string) => ctx.issues.push({ code: "custom", path, message, input: m });
  const tensors = new Set([...m.inputs, ...m.outputs].map((t) => t.name));
  m.tensorStats?.forEach((name, i) => tensors.has(name) || problem(["tensorStats", i], `no input or output named "${name}"`));
  const dupTensor = m.tensorStats && findDuplicate(m.tensorStats, (t) => t, "tensor");
  if (dupTensor) problem(["tensorStats"], dupTensor);
  const features = [...m.features, ...derivedFeatures(m)];
  // a report holds a sketch of each: the collector refuses one of more
  if (features.length > LIMITS.features)
    ctx.issues.push({
      code: "too_big",
      origin: "array",
      maximum: LIMITS.features,
      path: ["features"],
      message: `${features.length} features with those derived from tensors, more than a report holds (${LIMITS.features})`,
      input: m,
    });
  for (const [list, what] of [
    [m.inputs, "input"],
    [features, "feature"],
    [m.outputs, "output"],
  ] as const) {
    const dup = findDuplicate<{ name: string }>(list, (x) => x.name, what);
    if (dup) problem([], dup);
  }
  const inputs = new Map(m.inputs.map((i) => [i.name, i]));
  const used = new Map<string, string>();
  m.inputs.forEach((input, i) => {
    if (input.media?.kind === "image" && input.dtype !== "float32" && input.dtype !== "uint8") problem(["inputs", i, "dtype"], "an image input is float32 or uint8");
    if (input.media?.kind === "audio" && input.dtype !== "float32") problem(["inputs", i, "dtype"], "an audio input is float32");
  });
  m.features.forEach((f, i) => {
    const at = (key: string) => ["features", i, key];
    const input = inputs.get(f.input);
    if (!input) return problem(at("input"), `no input named "${f.input}"`);
    if (input.media) return problem(at("input"), `input "${f.input}" takes ${input.media.kind === "image" ? "an image" : input.media.kind}: its features are its descriptors`);
    if (f.kind === "categorical" && !f.categories?.length) problem(at("categories"), "categorical feature needs categories");
    if (f.kind === "numeric" && (f.categories || f.encoding)) problem(at("kind"), "numeric feature with categories");
    if (f.categories) {
      const dup = findDuplicate(f.categories, (c) => c, "category");
      if (dup) problem(at("categories"), dup);
    }
    if (f.policy === "impute" && f.impute === undefined) problem(at("impute"), "policy impute needs an impute value");
    // the runtime takes a number past float32's range as no number (protocol/row-encoding.ts): as the
    // fallback, every missing or invalid value would be refused instead of imputed
    if (f.kind === "numeric" && f.impute !== undefined && !(typeof f.impute === "number" && isFloat32Finite(f.impute)))
      problem(at("impute"), "a numeric feature's impute value is a number within float32's range");
    if (f.policy === "ignore" && f.kind !== "categorical") problem(at("policy"), "policy ignore is for categorical features");
    const width = f.encoding === "onehot" ? (f.categories?.length ?? 1) : 1;
    const columns = input.shape[input.shape.length - 1];
    if (typeof columns === "number" && columns > 0 && f.index + width > columns) {
      problem(at("index"), `columns ${f.index}..${f.index + width - 1} outside input "${f.input}" (${columns} columns)`);
    }
    for (let c = f.index; c < f.index + width; c++) {
      const other = used.get(`${f.input}:${c}`);
      if (other) return problem(at("index"), `column ${c} of "${f.input}" also used by "${other}"`);
      used.set(`${f.input}:${c}`, f.name);
    }
  });
  m.outputs.forEach((o, i) => {
    const dup = o.labels && findDuplicate(o.labels, (l) => l, "label");
    if (dup) problem(["outputs", i, "labels"], dup);
    if (o.kind === "embedding" && o.name !== m.embedding?.output) problem(["outputs", i, "kind"], `"${o.name}" is not the output the manifest's embedding names`);
  });
  const embedding = m.embedding?.output;
  if (embedding !== undefined && !m.outputs.some((o) => o.name === embedding)) problem(["embedding", "output"], `no output named "${embedding}"`);
}

/**
 * The manifest clients get (in the assignment): the model's tensors, features and outputs,
 * without the reference profile, which only the collector needs. Unknown fields are rejected.
 */
export const clientManifestSchema = z.strictObject(clientManifestShape).check(checkStructure);

/**
 * The model manifest: what the runtime needs to feed the model and what the collector needs
 * to judge its traffic (the reference profile). Unknown fields are rejected, so a typo never
 * passes silently.
 */
export const manifestSchema = z.strictObject({ ...clientManifestShape, profile: referenceProfileSchema }).check((ctx) => {
  checkStructure(ctx);
  const kinds = new Map([...ctx.value.features, ...derivedFeatures(ctx.value)].map((f) => [f.name, f.kind]));
  for (const [name, p] of Object.entries(ctx.value.profile.features)) {
    if (kinds.get(name) !== p.kind) {
      ctx.issues.push({ code: "custom", path: ["profile", "features", name], message: `profile feature "${name}" is not a ${p.kind} feature of the manifest`, input: ctx.value });
    }
  }
  if (Boolean(ctx.value.embedding) !== Boolean(ctx.value.profile.embedding)) {
    const message = ctx.value.embedding ? "the manifest has an embedding but the profile no reference of it" : "the profile has an embedding reference but the manifest no embedding";
    ctx.issues.push({ code: "custom", path: ["profile", "embedding"], message, input: ctx.value });
  }
  if (ctx.value.drift?.verdicts === "calibrated" && !ctx.value.profile.calibration) {
    const message = "drift.verdicts is calibrated but the profile has no calibration (make one with driftline profile --calibrate)";
    ctx.issues.push({ code: "custom", path: ["drift", "verdicts"], message, input: ctx.value });
  }
});

/** A model manifest. */
export type Manifest = z.infer<typeof manifestSchema>;
/** A manifest without its reference profile, as clients get it. */
export type ClientManifest = z.infer<typeof clientManifestSchema>;
/** A feature of a manifest. */
export type Feature = z.infer<typeof featureSchema>;
/** An input tensor of a manifest. */
export type Input = z.infer<typeof inputSchema>;
/** An output of a manifest. */
export type Output = z.infer<typeof outputSchema>;
/** Drift settings of a manifest. */
export type DriftConfig = z.infer<typeof driftConfigSchema>;
