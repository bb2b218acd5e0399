import { readFileSync } from "node:fs";
import type * as ort from "onnxruntime-web";
import { imageDims } from "../protocol/preprocess/image.ts";
import { inputColumns } from "../protocol/row-encoding.ts";
import type { Feature, Input, Output } from "../protocol/schema/manifest.ts";
import type { Media } from "../protocol/schema/media.ts";
import { CliError, fileReason, oneLine } from "./args.ts";

/** An ONNX model file, loaded with onnxruntime-web (WASM, in Node as is). */
export interface LoadedModel {
  bytes: Uint8Array;
  session: ort.InferenceSession;
  /** onnxruntime's Tensor class, to build feeds for `session`. */
  Tensor: typeof ort.Tensor;
  /** The graph's inputs in manifest form. */
  inputs: Input[];
  /** The graph's outputs: name, element type, shape. */
  outputs: Array<{ name: string; dtype: string; shape: Array<number | string> }>;
}

/**
 * Reads and loads an ONNX model; an unreadable or invalid file is a one-line CliError.
 * onnxruntime-web is imported here, on first use, so commands that need no model start fast.
 *
 * @param path - the .onnx file
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    const why = fileReason(err);
    throw new CliError(`cannot read the model ${path}${why ? `: ${why}` : ""}`);
  }
  const ort = await import("onnxruntime-web");
  let session: ort.InferenceSession;
  try {
    ort.env.logLevel = "error";
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (err) {
    throw new CliError(`${path} is not a model onnxruntime can load: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
  }
  // onnxruntime-web answers a dimension the graph leaves unnamed and unsized as 2^32 − 1
  const describe = (meta: ort.InferenceSession.ValueMetadata) =>
    meta.isTensor
      ? { name: meta.name, dtype: String(meta.type), shape: meta.shape.map((d) => (typeof d === "number" && d >= 0 && d < 2 ** 31 ? d : typeof d === "string" ? d : -1)) }
      : { name: meta.name, dtype: "non-tensor", shape: [] };
  const inputs = session.inputMetadata.map(describe).map((i) => ({ ...i, dtype: i.dtype as Input["dtype"] }));
  return { bytes, session, Tensor: ort.Tensor, inputs, outputs: session.outputMetadata.map(describe) };
}

/**
 * The manifest outputs of a model: a float `[batch, C ≥ 2]` tensor is class probabilities
 * (labelled by `labels`, else "0"…"C-1"); a float `[batch]` or `[batch, 1]` is a score when two
 * labels are given (the probability of the second) and a regression otherwise; an integer tensor
 * is a predicted label. With labels, a float output of another width beside one as wide as they
 * are (a text model's embedding) is a regression: a tensor the app reads. (`publish` lists the
 * output a profile names as its embedding with kind `embedding` instead.)
 *
 * @param model - the loaded model
 * @param labels - class labels from `--labels`, if any
 */
export function describeOutputs(model: LoadedModel, labels: string[]): Output[] {
  const width = (o: LoadedModel["outputs"][number]) => (o.shape.length >= 2 ? o.shape[o.shape.length - 1] : 1);
  // with labels, a float output as wide as they are is the classifier's
  const labelled = labels.length > 0 && model.outputs.some((o) => o.dtype.startsWith("float") && width(o) === labels.length);
  return model.outputs.map((o) => {
    const classes = width(o);
    const isFloat = o.dtype.startsWith("float");
    if (isFloat && typeof classes === "number" && classes >= 2) {
      if (labels.length > 0 && labels.length !== classes) {
        // another output holds the classes: this one is a tensor the app reads (an embedding)
        if (labelled) return { name: o.name, kind: "regression" };
        throw new CliError(`--labels has ${labels.length} labels but output "${o.name}" has ${classes} classes`);
      }
      return { name: o.name, kind: "probabilities", labels: labels.length ? labels : Array.from({ length: classes }, (_, i) => String(i)) };
    }
    if (isFloat) return labels.length === 2 ? { name: o.name, kind: "score", labels } : { name: o.name, kind: "regression" };
    return labels.length ? { name: o.name, kind: "label", labels } : { name: o.name, kind: "label" };
  });
}

/**
 * `outputs` with the one a profile names as its embedding (`embedding.output`) of kind
 * `embedding`: a vector the app reads and devices sketch, with no class or score read off it.
 *
 * @param outputs - the outputs, e.g. from {@link describeOutputs}
 * @param embedding - the embedding output's name, if any
 */
export function markEmbedding(outputs: readonly Output[], embedding: string | undefined): Output[] {
  return outputs.map((o) => (o.name === embedding ? { name: o.name, kind: "embedding" } : o));
}

/**
 * The dimensions after the batch of the tensor one image or audio frame is fed as, laid out as the
 * runtime lays it out (runtime/validate.ts `compile`): 3 × H × W (NCHW) or H × W × 3 (NHWC) for an
 * image, `frameLength` samples for audio; none for text, whose tensors the app's encoder makes.
 *
 * @param media - the input's medium and preprocessing
 */
export function mediaDims(media: Media): number[] | undefined {
  if (media.kind === "image") return imageDims(media);
  if (media.kind === "audio") return [media.frameLength];
  return undefined;
}

/**
 * Whether a tensor of `dims` fits a model input's `shape`: the same rank, and each size equal
 * where the model fixes it (a named or -1 dimension takes any size; so does an `undefined` in
 * `dims`, e.g. a batch the runtime chooses). An empty shape leaves the rank unknown: anything fits.
 *
 * @param shape - the model input's shape
 * @param dims - the tensor's dimensions
 * @example shapeTakes(["batch", 3, 32, 32], [undefined, 3, 64, 64]) // false
 */
export function shapeTakes(shape: Input["shape"], dims: readonly (number | undefined)[]): boolean {
  return shape.length === 0 || (shape.length === dims.length && shape.every((d, i) => typeof d === "string" || d < 0 || dims[i] === undefined || d === dims[i]));
}

/**
 * Refuses (CliError) a tensor the model's `input` does not take: another rank, a size other than
 * one the model fixes ({@link shapeTakes}), or another element type.
 *
 * @param input - the model's input
 * @param dtype - the tensor's element type
 * @param dims - its dimensions
 * @param made - what makes the tensor, for the message (`--media`)
 * @example assertFits(input, "float32", [1, 3, 64, 64], "--media") // the model's input "image" is [batch,3,32,32] but --media makes [1,3,64,64]
 */
export function assertFits(input: Input, dtype: string, dims: readonly number[], made: string): void {
  const { shape } = input;
  if (!shapeTakes(shape, dims)) throw new CliError(`the model's input "${input.name}" is [${shape.join(",")}] but ${made} makes [${dims.join(",")}]`);
  if (dtype !== input.dtype) throw new CliError(`the model's input "${input.name}" takes ${input.dtype} but ${made} makes ${dtype}`);
}

/**
 * Runs the model; what onnxruntime refuses (feeds that do not fit, a kernel that fails on them) is
 * a one-line CliError with onnxruntime's reason.
 *
 * @param model - the loaded model
 * @param feeds - its inputs, by name
 * @param outputs - the outputs wanted
 */
export async function runModel(model: LoadedModel, feeds: Record<string, ort.Tensor>, outputs: string[]): Promise<Record<string, ort.Tensor>> {
  try {
    // fatal only: onnxruntime's own log line of a failure would follow the CliError's
    return await model.session.run(feeds, outputs, { logSeverityLevel: 4 });
  } catch (err) {
    throw new CliError(`the model failed to run: ${oneLine(err).replace(/^failed to call OrtRun\(\)\. ERROR_CODE: \d+, ERROR_MESSAGE: /, "")}`);
  }
}

/**
 * Refuses (a CliError) an embedding output the model cannot give as the profile has it: no output
 * of that name, or one whose rows hold another number of values than the reference embeddings
 * (`length`), which would make every prediction a `validation` error. A row's size is known when
 * every dimension after the batch is fixed; a named or -1 one, or an unknown rank, passes.
 *
 * @param model - the loaded model
 * @param embedding - the profile's embedding: the output (none: the app passes the vectors) and their length
 */
export function checkEmbeddingOutput(model: LoadedModel, embedding: { output?: string | undefined; length: number }): void {
  const { output: name, length } = embedding;
  if (name === undefined) return;
  const output = model.outputs.find((o) => o.name === name);
  if (!output) throw new CliError(`the profile's embedding is output "${name}" but the model's outputs are ${model.outputs.map((o) => `"${o.name}"`).join(", ")}`);
  const row = output.shape.slice(1);
  if (output.shape.length === 0 || !row.every((d) => typeof d === "number" && d >= 0)) return;
  const values = (row as number[]).reduce((a, b) => a * b, 1);
  if (values !== length) throw new CliError(`the reference embeddings have ${length} values but the model's output "${name}" [${output.shape.join(", ")}] has ${values} a row`);
}

/**
 * Throws when the features that feed `input` do not make as many columns as its last dimension,
 * saying how to profile again (`driftline profile` and `publish` both check).
 *
 * @param input - the model's input
 * @param features - the profile's features (those of other inputs are skipped)
 */
export function checkFeatureColumns(input: Input, features: readonly Feature[]): void {
  const mine = features.filter((f) => f.input === input.name);
  checkColumnCount(input, inputColumns(mine).get(input.name) ?? 0, mine.length, mine.some((f) => f.encoding === "onehot") ? "onehot" : "index");
}

/**
 * {@link checkFeatureColumns} from counts: `profile` checks a table's columns with it as soon as
 * it has read the header (with index encoding, a feature is one column), not after a pass over
 * the whole file.
 *
 * @param input - the model's input
 * @param columns - the tensor columns the features make
 * @param features - how many features
 * @param encoding - how categories become columns
 */
export function checkColumnCount(input: Input, columns: number, features: number, encoding: "index" | "onehot"): void {
  const width = input.shape[input.shape.length - 1];
  if (typeof width !== "number" || width <= 0 || width === columns) return;
  throw new CliError(
    `the model's input "${input.name}" has ${width} columns but the profile's ${features} features make ${columns} (encoding ${encoding}): profile again with --exclude (the target, ids), --categorical or --encoding`,
  );
}
