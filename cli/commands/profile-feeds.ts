import { blurValue } from "../../protocol/blur.ts";
import { describeTensors, tensorStatFeatures } from "../../protocol/preprocess/tensor-stats.ts";
import { NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { CliError, UsageError, listFlag, readTextFile } from "../args.ts";
import { type LoadedModel, describeOutputs, runModel } from "../onnx-model.ts";
import { type ProfileFile, PredictionSketcher } from "../profiler.ts";
import { progress } from "../progress.ts";

/** The flags of `driftline profile` that the feeds path reads. */
export interface FeedsFlags {
  feeds: string;
  tensors?: string | undefined;
  labels: string[];
}

/** One tensor of a feeds line, as JSON holds it. */
interface JsonTensor {
  dims: number[];
  data: number[];
}

/** A feeds line's tensor for `input`, checked; a CliError names the line and what is wrong. */
function tensorOf(model: LoadedModel, input: LoadedModel["inputs"][number], value: unknown, line: number): InstanceType<LoadedModel["Tensor"]> {
  const at = `--feeds line ${line}, input "${input.name}"`;
  const t = value as Partial<JsonTensor> | undefined;
  if (!t || !Array.isArray(t.dims) || !Array.isArray(t.data)) throw new CliError(`${at}: give { "dims": [...], "data": [...] }`);
  if (!t.dims.every((d) => Number.isInteger(d) && d >= 0)) throw new CliError(`${at}: dims are whole numbers`);
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) throw new CliError(`${at}: dims [${t.dims.join(", ")}] hold ${size} values, data has ${t.data.length}`);
  if (!t.data.every((v) => typeof v === "number" || v === null)) throw new CliError(`${at}: data are numbers (null for NaN)`);
  const data = t.data.map((v) => v ?? NaN);
  if (input.dtype === "int64")
    return new model.Tensor(
      "int64",
      BigInt64Array.from(data, (v) => BigInt(Math.trunc(v))),
      t.dims,
    );
  if (input.dtype === "int32") return new model.Tensor("int32", Int32Array.from(data), t.dims);
  if (input.dtype === "float32") return new model.Tensor("float32", Float32Array.from(data), t.dims);
  throw new CliError(`input "${input.name}" is ${input.dtype}: --feeds takes float32, int32 and int64 inputs`);
}

/**
 * `driftline profile --feeds FILE --model m.onnx`: runs the model on each line's feeds (NDJSON,
 * one `{ "<input>": { "dims", "data" } … }` per line, as the app passes them to `run()`), and
 * sketches the statistics of the tensors `--tensors` names (default: every input and output) with
 * the runtime's code (protocol/preprocess/tensor-stats.ts `describeTensors`), and the predictions.
 *
 * @param flags - the command's flags
 * @param model - `--model`, loaded
 * @returns the profile file, and what to say of it
 */
export async function profileFeeds(flags: FeedsFlags, model: LoadedModel | undefined): Promise<{ file: ProfileFile; summary: string }> {
  const started = Date.now();
  if (!model) throw new UsageError("--feeds needs --model: the statistics of its outputs come from running it");
  const known = [...model.inputs, ...model.outputs].map((t) => t.name);
  const names = flags.tensors ? listFlag(flags.tensors, "tensors") : known;
  const unknown = names.find((n) => !known.includes(n));
  if (unknown) throw new CliError(`--tensors: the model has no input or output "${unknown}" (it has ${known.join(", ")})`);
  const lines = readTextFile(flags.feeds, "the feeds").split(/\r?\n/);
  const outputs = describeOutputs(model, flags.labels);
  const sketched = outputs.find((o) => o.kind === "probabilities") ?? outputs.find((o) => o.kind === "regression" || o.kind === "score");
  const predictions = sketched && new PredictionSketcher(sketched);
  const features = tensorStatFeatures(names);
  const sketches = features.map(() => new NumericSketch());
  const total = lines.filter((l) => l.trim() !== "").length;
  const bar = progress(`running ${total} feeds`, total);
  let calls = 0;
  for (const [i, text] of lines.entries()) {
    if (text.trim() === "") continue;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new CliError(`--feeds line ${i + 1}: ${err instanceof Error ? err.message : err}`);
    }
    const feeds = Object.fromEntries(model.inputs.map((input) => [input.name, tensorOf(model, input, json[input.name], i + 1)]));
    const out = await runModel(model, feeds, [...model.session.outputNames]);
    describeTensors(names, { ...feeds, ...out }).forEach((v, f) => sketches[f]!.update(v, blurValue(v)));
    if (predictions) {
      const data = out[sketched!.name]!.data as Float32Array;
      const rows = Number(out[sketched!.name]!.dims[0] ?? 1) || 1;
      const width = data.length / rows;
      for (let r = 0; r < rows; r++) predictions.add(data.subarray(r * width, (r + 1) * width));
    }
    bar.update(++calls);
  }
  bar.done(`${calls} feeds`);
  if (!calls) throw new CliError(`${flags.feeds} has no feeds`);
  const reference = Object.fromEntries(features.map(({ name, kind }, f) => [name, { kind, sketch: toBase64(sketches[f]!.encode()) }]));
  const file: ProfileFile = {
    format: 1,
    input: model.inputs[0]!.name,
    features: [],
    outputs,
    tensorStats: names,
    profile: { format: 1, rows: calls, features: reference, ...(predictions && { prediction: predictions.prediction }), createdAt: new Date().toISOString() },
  };
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  return { file, summary: `${calls} feeds, statistics of ${names.length} tensors${predictions ? ", predictions sketched" : ""} (${seconds} s)` };
}
