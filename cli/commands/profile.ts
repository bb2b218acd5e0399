import { closeSync, existsSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { sha256Hex } from "../../protocol/hash.ts";
import { CliError, UsageError, choiceFlag, intFlag, listFlag, onePositional, parse } from "../args.ts";
import { type LoadedModel, checkColumnCount, checkEmbeddingOutput, checkFeatureColumns, describeOutputs, loadModel } from "../onnx-model.ts";
import { type ProfileFile, type ProfileOptions, PredictionProfiler, TableProfiler } from "../profiler.ts";
import type { ChunkOptions } from "../reference-chunks.ts";
import { formatBytes } from "../../protocol/byte-size.ts";
import { progress } from "../progress.ts";
import { TABLE_FORMATS, type RowBatch, type Table, openTable } from "../tables/index.ts";
import type { Command } from "./command.ts";
import { openMedia, profileMedia } from "./profile-media.ts";
import { profileFeeds } from "./profile-feeds.ts";
import { profileEmbeddings } from "../embedding-profile.ts";
import { MAX_EMBEDDING_DIMS, MAX_KERNEL_FEATURES } from "../../protocol/sketch/embedding.ts";

const USAGE = `driftline profile <train.csv|train.ndjson|train.parquet> -o profile.json [options]
       driftline profile --images DIR | --audio DIR | --text FILE --media SPEC -o profile.json [--model m.onnx]
       driftline profile --feeds FILE --model m.onnx -o profile.json [--tensors a,b]

Profiles training (or any reference) data into the reference profile that drift is measured
against: the same sketches clients send, plus the feature schema publish needs.

  -o, --out FILE          where to write the profile (required; checked before any work)
  --format csv|ndjson|parquet
                          the file's format (default: by extension: .parquet or .pq is Parquet,
                          .ndjson or .jsonl NDJSON, anything else CSV)
  --categorical a,b       columns that are categories (default: columns whose first value is not a number)
  --exclude id,target     columns to leave out
  --input NAME            the model input the features feed (default: the model's only input, else
                          "features"; for --images, --audio, --text: "image", "audio", "text")
  --encoding index|onehot how categories become tensor columns (default: index)
  --nullable a,b          columns whose missing values the model takes as they are (NaN, or no
                          category) instead of imputed, e.g. for gradient-boosted trees
  --unknown impute|ignore a category the data did not have is fed as the most frequent one
                          (impute, the default) or as none (ignore: scikit-learn's
                          OneHotEncoder(handle_unknown="ignore"))
  --model model.onnx      also run the model over every row and sketch its predictions (the
                          profile keeps the model's SHA-256: publish takes only that model with it)
  --labels no,yes         class labels of the model's output (with --model)
  --target COLUMN         with --model: the label (or value, for a regression) of each row; the
                          profile records the model's quality on the reference as the baseline
                          live performance is compared with (accuracy, per-class precision,
                          recall and F1, ROC AUC for two classes, log loss, calibration; MAE
                          and RMSE). The column is not a feature. A regression's output gets
                          the targets' step and range: how devices record labels (docs/privacy.md)

Missing values are imputed as scikit-learn's SimpleImputer does: the median (exact up to 20
million numeric values, from the sketches beyond) or the most frequent category (of tied ones,
the smallest).

Calibrated drift thresholds (publish then judges windows against them: docs/drift.md):
  --calibrate             cut the reference into chunks and record how each feature's PSI, JS
                          and Wasserstein vary between them: 4 deals of 10 random chunks
                          (sampling noise), plus the chunks below (variation over time)
  --chunk-by COLUMN       one chunk per value of COLUMN (not a feature); implies --calibrate
  --chunk-period year|month|week|day
                          with --chunk-by a date column (ISO 8601 or epoch ms): one chunk per period
  --chunk-size N          chunks of N consecutive rows (data in time order); implies --calibrate

Images, audio and text (docs/models.md): the input's descriptors (image.brightness …) become
its features, sketched over every item with the preprocessing the runtime applies:
  --images DIR            the PNG and JPEG files of DIR
  --audio DIR             the WAV files of DIR (mixed down to mono)
  --text FILE             one text per line (a blank line is none)
  --media SPEC            the input's preprocessing, JSON or a file holding it: for images
                          {"height","width","layout":"NCHW|NHWC","channels":"RGB|BGR",
                          "fit":"stretch|cover|contain","filter":"nearest|bilinear|bicubic",
                          "scale","mean","std"}; for audio {"sampleRate","frameLength"}
  --model model.onnx      run the model on every item, preprocessed as the runtime will (its own
                          code, runtime/media/), and sketch its predictions (--labels, --input
                          as above); the model's other inputs cannot be fed: none may be left
  --encoder FILE          with --text: an ES module whose default export is the app's
                          encodeText(texts, input) (the same tokenizer the page passes): its
                          unknownTokens are recorded, and with --model its feeds run the model

Raw tensors (models the app runs with run(feeds); docs/models.md "Tensor statistics"):
  --feeds FILE            NDJSON, one call's feeds per line: {"<input>":{"dims":[…],"data":[…]},…}
                          (null for NaN); --model runs on each, and the mean, std, min, max and
                          non-finite share of each tensor become its features (<tensor>.mean …)
  --tensors a,b           the inputs and outputs to describe (default: all of them)

Embeddings (with any of the above; docs/models.md "Embeddings"):
  --embeddings FILE       reference embeddings, NDJSON: one JSON array of numbers per line
  --embedding-output NAME the model output that is the embedding (else the app passes it); with
                          --model, checked to give rows of the embeddings' length
  --embedding-dims N      components of the seeded random projection (default 16, or the
                          embedding's length when it is shorter)
  --embedding-features N  random Fourier features of the RBF kernel (default 256)
  --embedding-seed N      seed of both (default 1)`;

const OPTIONS = {
  out: { type: "string", short: "o" },
  categorical: { type: "string" },
  exclude: { type: "string" },
  input: { type: "string" },
  encoding: { type: "string" },
  nullable: { type: "string" },
  unknown: { type: "string" },
  model: { type: "string" },
  labels: { type: "string" },
  target: { type: "string" },
  format: { type: "string" },
  calibrate: { type: "boolean" },
  "chunk-by": { type: "string" },
  "chunk-period": { type: "string" },
  "chunk-size": { type: "string" },
  images: { type: "string" },
  feeds: { type: "string" },
  tensors: { type: "string" },
  audio: { type: "string" },
  text: { type: "string" },
  media: { type: "string" },
  encoder: { type: "string" },
  embeddings: { type: "string" },
  "embedding-output": { type: "string" },
  "embedding-dims": { type: "string" },
  "embedding-features": { type: "string" },
  "embedding-seed": { type: "string" },
} as const;

/** The flags only a table's profile reads: beside --images, --audio, --text or --feeds they would do nothing. */
const TABLE_FLAGS = ["format", "categorical", "exclude", "encoding", "nullable", "unknown", "target", "calibrate", "chunk-by", "chunk-period", "chunk-size"] as const;

/** `driftline profile`: a CSV, NDJSON or Parquet table → profile.json (schema + reference sketches). */
export const profile: Command = {
  name: "profile",
  summary: "profile training data into a reference profile",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    if (!values.out) throw new UsageError("missing -o/--out FILE");
    checkNotAnInput(values.out, [
      ["the data file", positionals[0]],
      ...(["model", "feeds", "text", "media", "embeddings", "encoder"] as const).map((flag): [string, string | undefined] => [`--${flag}`, values[flag]]),
    ]);
    checkWritable(values.out);
    const media = values.images || values.audio || values.text;
    if (values.feeds && (positionals.length || media)) throw new UsageError("--feeds names the data: no data file, --images, --audio or --text beside it");
    if (values.tensors && !values.feeds) throw new UsageError("--tensors goes with --feeds");
    if (media && positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}": --images, --audio and --text name the data`);
    const tableFlag = (media || values.feeds) && TABLE_FLAGS.find((f) => values[f] !== undefined);
    if (tableFlag) {
      const data = values.images ? "--images" : values.audio ? "--audio" : values.text ? "--text" : "--feeds";
      throw new UsageError(`--${tableFlag} goes with a table (a data file), not with ${data}`);
    }
    // the media flags checked first; then the reference embeddings and the model, loaded once: a
    // model that cannot give the embeddings fails before the data are read
    const opened = media ? openMedia(values, values.model !== undefined) : undefined;
    const embeddings = await profileEmbeddingFlags(values);
    const model = values.model ? await loadModel(values.model) : undefined;
    if (embeddings?.config.output && model) checkEmbeddingOutput(model, embeddings.config);
    const labels = listFlag(values.labels, "labels");
    const { file, summary } = values.feeds
      ? await profileFeeds({ feeds: values.feeds, tensors: values.tensors, labels }, model)
      : opened
        ? await profileMedia(opened, { ...values, labels }, model)
        : await profileTable(onePositional(positionals, "the data file"), values, model);
    if (model) file.modelSha256 = await sha256Hex(model.bytes);
    if (embeddings) {
      file.embedding = embeddings.config;
      file.profile.embedding = embeddings.reference;
    }
    writeFileSync(values.out, `${JSON.stringify(file, null, 2)}\n`);
    console.log(`${values.out}: ${summary}${embeddings ? `, ${embeddings.config.length}-value embeddings` : ""}`);
  },
};

/**
 * Fails before any work, with the error writing the profile at the end would give (main says it
 * in one line: `cannot open out/p.json: no such file or directory`), when `path` cannot be
 * written: it is opened for appending, which changes no file, and a file this made is removed.
 *
 * @param path - the `-o` file
 */
function checkWritable(path: string): void {
  const existed = existsSync(path);
  closeSync(openSync(path, "a"));
  if (!existed) rmSync(path);
}

/**
 * Fails with a UsageError when the `-o` file is one of the command's inputs (the same file by any
 * path): writing the profile would overwrite the training data, the model or the texts.
 *
 * @param out - the `-o` file
 * @param inputs - each input's name for the error and its path, if given
 */
function checkNotAnInput(out: string, inputs: Array<[string, string | undefined]>): void {
  const target = statSync(out, { throwIfNoEntry: false });
  if (!target?.isFile()) return;
  for (const [what, path] of inputs) {
    const input = path === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
    if (input && input.dev === target.dev && input.ino === target.ino) throw new UsageError(`-o ${out} is ${what}: the profile would overwrite it; name another file`);
  }
}

/** The flags of `driftline profile`. */
type ProfileFlags = ReturnType<typeof parse<typeof OPTIONS>>["values"];

/**
 * `driftline profile <table>`: the feature schema and sketches of a CSV, NDJSON or Parquet file,
 * and with `--model` the model's predictions over its rows (and its quality with `--target`).
 *
 * @param path - the table
 * @param values - the command's flags
 * @param model - `--model`, loaded
 * @returns the profile file, and what to say of it
 */
async function profileTable(path: string, values: ProfileFlags, model: LoadedModel | undefined): Promise<{ file: ProfileFile; summary: string }> {
  const encoding = choiceFlag(values.encoding ?? "index", "encoding", ["index", "onehot"]);
  const labels = listFlag(values.labels, "labels");
  if (labels.length && !values.model) throw new UsageError("--labels goes with --model");
  if (values.target && !values.model) throw new UsageError("--target goes with --model: the baseline is the model's quality on the reference rows");
  const started = Date.now();

  const input = values.input ?? (model?.inputs.length === 1 ? model.inputs[0]!.name : "features");
  const unknown = choiceFlag(values.unknown ?? "impute", "unknown", ["impute", "ignore"]);
  const chunks = chunkOptions(values);
  const exclude = [...new Set([...listFlag(values.exclude, "exclude"), ...(values.target ? [values.target] : [])])];
  const options: ProfileOptions = {
    categorical: listFlag(values.categorical, "categorical"),
    exclude,
    input,
    encoding,
    nullable: listFlag(values.nullable, "nullable"),
    unknown,
    ...(chunks && { chunks }),
  };

  const format = values.format === undefined ? undefined : choiceFlag(values.format, "format", TABLE_FORMATS);
  const table = await openTable(path, { format, skip: options.exclude });
  const batches = table.batches();
  const first = await batches.next();
  const profiler = new TableProfiler(table, options, first.done ? undefined : first.value.rows);
  // a feature is a column with index encoding: a table the model cannot take fails before the pass
  const modelInput = model?.inputs.find((i) => i.name === input);
  if (modelInput && encoding === "index") checkColumnCount(modelInput, profiler.columns.length, profiler.columns.length, "index");
  await readAll(table, first.done ? undefined : first.value, batches, `profiling ${path}`, (b) => profiler.add(b.rows, b.positions));
  if (profiler.rows === 0) throw new CliError(`${path} has no rows: a reference profile is made of the training data's rows`);
  const features = profiler.features(options);

  const file: ProfileFile = {
    format: 1,
    input,
    features,
    profile: { format: 1, rows: profiler.rows, ...profiler.featureSketches(features), createdAt: new Date().toISOString() },
  };

  if (model) {
    const modelInput = model.inputs.find((i) => i.name === input);
    if (!modelInput) throw new CliError(`the model has no input "${input}" (inputs: ${model.inputs.map((i) => i.name).join(", ")}); pass --input`);
    checkFeatureColumns(modelInput, features);
    const outputs = describeOutputs(model, labels);
    const sketched = outputs.find((o) => o.kind === "probabilities") ?? outputs.find((o) => o.kind === "regression" || o.kind === "score");
    if (!sketched) throw new CliError("the model has no float output to sketch predictions from");
    const again = await openTable(path, { format, skip: options.exclude.filter((c) => c !== values.target) });
    const target = values.target ? { name: values.target, at: again.columns.indexOf(values.target) } : undefined;
    const predictor = new PredictionProfiler(
      model,
      features,
      profiler.columns.map((c) => c.at),
      sketched,
      target,
    );
    await readAll(again, undefined, again.batches(), `running ${values.model} over ${path}`, (b) => predictor.add(b.rows, (r) => again.where(b.positions[r]!)));
    // a regression's targets' step and range: how devices record labels (docs/privacy.md)
    const recording = predictor.recording;
    file.outputs = outputs.map((o) => (o === sketched && recording ? { ...o, ...recording } : o));
    file.profile.prediction = predictor.prediction;
    const performance = predictor.performance;
    if (performance) file.profile.performance = performance;
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const medians = profiler.exactMedians ? "" : ", medians from sketches";
  const calibration = file.profile.calibration;
  const calibrated = calibration ? `, calibrated on ${calibration.chunks.random} random${calibration.chunks.ordered ? ` and ${calibration.chunks.ordered} ordered` : ""} chunks` : "";
  const baseline = file.profile.performance;
  // rows whose target is missing are left out of the baseline: say so when some were
  const on = baseline && baseline.labelled < profiler.rows ? ` on the ${baseline.labelled} of ${profiler.rows} rows with a target` : "";
  const quality = !baseline ? "" : baseline.kind === "classification" ? `, baseline accuracy ${baseline.accuracy.toFixed(3)}${on}` : `, baseline MAE ${baseline.mae.toPrecision(4)}${on}`;
  return { file, summary: `${profiler.rows} rows, ${features.length} features${model ? ", predictions sketched" : ""}${quality}${calibrated}${medians} (${seconds} s)` };
}

/** With `--embeddings`: the manifest's embedding settings and the reference embeddings for the profile file; else undefined. */
async function profileEmbeddingFlags(values: {
  embeddings?: string;
  "embedding-output"?: string;
  "embedding-dims"?: string;
  "embedding-features"?: string;
  "embedding-seed"?: string;
}): Promise<Awaited<ReturnType<typeof profileEmbeddings>> | undefined> {
  if (!values.embeddings) {
    const stray = ["embedding-output", "embedding-dims", "embedding-features", "embedding-seed"].find((f) => values[f as keyof typeof values] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --embeddings`);
    return undefined;
  }
  return profileEmbeddings(values.embeddings, {
    dims: values["embedding-dims"] === undefined ? undefined : intFlag(values["embedding-dims"], "embedding-dims", 1, MAX_EMBEDDING_DIMS),
    features: intFlag(values["embedding-features"] ?? "256", "embedding-features", 1, MAX_KERNEL_FEATURES),
    seed: intFlag(values["embedding-seed"] ?? "1", "embedding-seed", 1, 2 ** 32 - 1),
    output: values["embedding-output"],
  });
}

/** How to cut the reference into chunks, or undefined when not calibrating. */
function chunkOptions(values: { calibrate?: boolean; "chunk-by"?: string; "chunk-period"?: string; "chunk-size"?: string }): ChunkOptions | undefined {
  const by = values["chunk-by"];
  const period = values["chunk-period"] === undefined ? undefined : choiceFlag(values["chunk-period"], "chunk-period", ["year", "month", "week", "day"]);
  if (period && !by) throw new UsageError("--chunk-period goes with --chunk-by");
  const size = values["chunk-size"] === undefined ? undefined : Number(values["chunk-size"]);
  if (size !== undefined && !(Number.isInteger(size) && size >= 2)) throw new UsageError("--chunk-size must be a whole number of rows, at least 2");
  if (by && size) throw new UsageError("--chunk-by and --chunk-size are two ways to cut: choose one");
  if (!values.calibrate && !by && !size) return undefined;
  return { ...(by && { by }), ...(period && { period }), ...(size && { size }) };
}

/** Feeds every batch of `table` to `each`, showing progress by bytes read. */
async function readAll(table: Table, first: RowBatch | undefined, rest: AsyncGenerator<RowBatch>, label: string, each: (batch: RowBatch) => unknown) {
  const bar = progress(label, table.bytes, (n) => formatBytes(n));
  let rows = 0;
  if (first) {
    await each(first);
    rows += first.rows.length;
  }
  for await (const batch of rest) {
    await each(batch);
    rows += batch.rows.length;
    bar.update(table.bytesRead);
  }
  bar.done(`${rows} rows`);
}
