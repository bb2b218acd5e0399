import { sha256Hex } from "../../protocol/hash.ts";
import { inputColumns } from "../../protocol/row-encoding.ts";
import type { Input, Manifest, Output } from "../../protocol/schema/manifest.ts";
import type { KeyView, ModelDetail } from "../../protocol/api.ts";
import type { Media } from "../../protocol/schema/media.ts";
import { parseManifest } from "../../protocol/schema/parse.ts";
import { profileProblem } from "../../protocol/profile-check.ts";
import { DriftlineError } from "../../protocol/errors.ts";
import { NoAnswerError, request, requestJson, connection, type Connection } from "../api.ts";
import { CONNECTION_OPTIONS, CliError, UsageError, choiceFlag, listFlag, onePositional, parse, readTextFile } from "../args.ts";
import { checkEmbeddingOutput, checkFeatureColumns, describeOutputs, loadModel, markEmbedding, mediaDims, shapeTakes, type LoadedModel } from "../onnx-model.ts";
import type { ProfileFile } from "../profiler.ts";
import { formatBytes } from "../../protocol/byte-size.ts";
import { progress } from "../progress.ts";
import type { Command } from "./command.ts";
import { readSigningKey } from "./signing.ts";
import { signManifest } from "../../protocol/signature.ts";

const USAGE = `driftline publish <model.onnx> --model NAME --profile profile.json [options]

Uploads the model (by its SHA-256) and registers it as the model's next version, with the
feature schema and reference profile from \`driftline profile\`. The first version of a model
becomes its stable version; later ones wait for \`driftline rollout\`.

  --model NAME            the model's name, e.g. churn (required)
  --profile FILE          the profile from \`driftline profile\` (required)
  --labels no,yes         class labels of the model's output (when the profile has none; a
                          profile made with --model keeps its own, and other ones are refused)
  --backend webgpu|wasm   the backend clients should prefer (default: timed on each device)
  --verdicts calibrated|evidently
                          drift verdicts against the profile's calibration (the default when
                          \`driftline profile --calibrate\` made one) or Evidently's fixed thresholds
  --meta k=v              metadata to keep with the version (repeatable)
  --sign KEY              sign the manifest (the model's SHA-256 included) with a key from
                          \`driftline signing create\`; runtimes given its public key as \`trust\`
                          run only signed versions
  --app APP               the model's app (bootstrap admin key only; default: DRIFTLINE_APP, else
                          the only model of that name, else a new one in app "default")
  --url URL --key KEY     the collector and an admin key (default: DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY)`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  model: { type: "string" },
  profile: { type: "string" },
  labels: { type: "string" },
  backend: { type: "string" },
  verdicts: { type: "string" },
  meta: { type: "string", multiple: true },
  sign: { type: "string" },
} as const;

/** `driftline publish`: upload the artifact, register the version, print its number. */
export const publish: Command = {
  name: "publish",
  summary: "upload a model and register it as a new version",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const path = onePositional(positionals, "the model file");
    if (!values.model) throw new UsageError("missing --model NAME");
    if (!values.profile) throw new UsageError("missing --profile FILE (make one with driftline profile)");
    const backend = values.backend === undefined ? undefined : choiceFlag(values.backend, "backend", ["webgpu", "wasm"]);
    const conn = connection(values);
    const profileFile = readProfileFile(values.profile);
    const verdicts = choiceFlag(values.verdicts ?? (profileFile.profile.calibration ? "calibrated" : "evidently"), "verdicts", ["calibrated", "evidently"]);
    if (verdicts === "calibrated" && !profileFile.profile.calibration) throw new UsageError(`--verdicts calibrated needs a calibrated profile: run driftline profile --calibrate`);
    const model = await loadModel(path);
    const sha256 = await sha256Hex(model.bytes);
    const profiled = profileFile.modelSha256;
    if (profiled !== undefined && profiled !== sha256) {
      throw new CliError(
        `${values.profile} holds the reference predictions of another model (sha256 ${profiled.slice(0, 12)}…), not of ${path} (sha256 ${sha256.slice(0, 12)}…): profile again with --model ${path}`,
      );
    }
    const manifest = buildManifest(values.model, model, profileFile, { labels: listFlag(values.labels, "labels"), backend, verdicts, meta: parseMeta(values.meta ?? []), sha256 });
    if (values.sign) {
      const { privateKey, publicKey } = await readSigningKey(values.sign);
      manifest.signature = await signManifest(manifest, privateKey, publicKey);
    }
    await upload(conn, manifest.sha256, model.bytes);
    // conn.app: --app, else DRIFTLINE_APP, as every other command reads it
    const body = { manifest, ...(conn.app ? { app: conn.app } : {}) };
    // sent again if its connection closes unanswered: a publish the collector took answers 200 then
    const { status, answer: version } = await requestJson<{ version: number; sha256: string }>(conn, `/v1/models/${encodeURIComponent(values.model)}/versions`, {
      method: "POST",
      json: body,
      resendable: true,
    });
    // 200, not 201: these bytes were published before with this profile (a retry), and that version stays as it was
    if (status === 200) {
      console.log(`${values.model} version ${version.version} already has these bytes (sha256 ${version.sha256.slice(0, 12)}…) and this profile: kept as published`);
      return;
    }
    console.log(
      `${values.model} version ${version.version} (sha256 ${version.sha256.slice(0, 12)}…, ${formatBytes(model.bytes.length)}${values.sign ? ", signed" : ""}${verdicts === "calibrated" ? ", calibrated drift verdicts" : ""})`,
    );
    if (version.version > 1) console.log(`roll it out: driftline rollout ${values.model} --canary ${version.version} --percent 10`);
    else {
      const line = await appLine(conn, values.model);
      if (line) console.log(line);
    }
  },
};

/**
 * Which app a new model went into (with the bootstrap key and no --app the collector picks it), and
 * the key its pages need: how many ingest keys the app has, or how to make one; undefined when the
 * collector does not say.
 *
 * @param conn - the collector and key the version was published with
 * @param model - the model's name
 */
async function appLine(conn: Connection, model: string): Promise<string | undefined> {
  try {
    const { app } = await request<ModelDetail>(conn, `/v1/models/${encodeURIComponent(model)}`);
    // npm start's demo app has one already: telling its user to make another would mislead
    const { keys } = await request<{ keys: KeyView[] }>({ ...conn, app }, "/v1/keys");
    const ingest = keys.filter((k) => k.role === "ingest" && !k.revokedAt).length;
    if (ingest) return `${model} is in app ${app}, which has ${ingest} ingest key${ingest === 1 ? "" : "s"} for its pages (driftline keys list --app ${app})`;
    return `${model} is in app ${app}: pages need an ingest key of that app (driftline keys create --app ${app} --role ingest)`;
  } catch {
    // the version is published: a failed look-up must not fail the command
    return undefined;
  }
}

function readProfileFile(path: string): ProfileFile {
  const text = readTextFile(path, "the profile");
  let parsed: ProfileFile;
  try {
    parsed = JSON.parse(text) as ProfileFile;
  } catch {
    throw new CliError(`cannot read the profile ${path}: not valid JSON`);
  }
  if (parsed?.format !== 1 || !Array.isArray(parsed.features) || !parsed.profile) {
    throw new CliError(`${path} is not a profile from driftline profile (format 1 with features and profile)`);
  }
  return parsed;
}

function parseMeta(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new UsageError(`--meta takes key=value, got "${pair}"`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

/**
 * The manifest of a model + profile; checks that the model's inputs and the profile's features,
 * medium and embedding agree, then validates it with protocol's schema, so mistakes surface
 * before any upload.
 */
function buildManifest(
  name: string,
  model: LoadedModel,
  file: ProfileFile,
  extra: { labels: string[]; backend: "webgpu" | "wasm" | undefined; verdicts: "calibrated" | "evidently"; meta: Record<string, string>; sha256: string },
): Manifest {
  for (const [input, columns] of inputColumns(file.features)) {
    const tensor = model.inputs.find((i) => i.name === input);
    if (!tensor) throw noSuchInput(model, "features feed", input, { what: "the features'", dims: [columns] });
    checkFeatureColumns(tensor, file.features);
  }
  if (file.embedding) checkEmbeddingOutput(model, file.embedding);
  const outputs = manifestOutputs(model, file, extra.labels);
  const manifest = {
    format: 1 as const,
    model: name,
    sha256: extra.sha256,
    size: model.bytes.length,
    inputs: file.media ? withMedia(model, file.input, file.media) : model.inputs,
    features: file.features,
    outputs,
    profile: file.profile,
    ...(file.embedding && { embedding: file.embedding }),
    ...(file.tensorStats && { tensorStats: file.tensorStats }),
    ...(extra.verdicts === "calibrated" ? { drift: { verdicts: extra.verdicts } } : {}),
    ...(extra.backend ? { preferredBackend: extra.backend } : {}),
    ...(Object.keys(extra.meta).length ? { meta: extra.meta } : {}),
  };
  let parsed: Manifest;
  try {
    parsed = parseManifest(manifest);
  } catch (err) {
    throw new CliError(err instanceof DriftlineError ? `the profile and model do not make a valid manifest: ${err.message}` : String(err));
  }
  // the collector's check, before the upload: a sketch edited by hand, or left out
  const problem = profileProblem(parsed);
  if (problem) throw new CliError(`the profile and model do not make a valid manifest: ${problem} (profile again rather than edit the sketches)`);
  return parsed;
}

/**
 * The refusal of a profile whose features or medium feed an input the model does not have, with
 * the `driftline profile --input` that names the model's (profile names it after the medium, or
 * "features", when given neither the model nor --input). A profile whose tensor is known (a
 * table's rows, an image, audio frames) is pointed only at inputs of that tensor's rank; when the
 * model has none, the profile is likely another model's, and no --input would do.
 *
 * @param model - the model
 * @param feeds - what of the profile feeds it: "features feed", "image feeds" …
 * @param input - the input the profile names
 * @param made - the tensor the profile's rows make after the batch, and whose it is ("an image's"); none for text
 */
function noSuchInput(model: LoadedModel, feeds: string, input: string, made?: { what: string; dims: number[] }): CliError {
  const names = model.inputs.filter((i) => !made || i.shape.length === made.dims.length + 1).map((i) => i.name);
  if (made && !names.length) {
    const inputs = model.inputs.map((i) => `"${i.name}" [${i.shape.join(", ")}]`).join(", ");
    return new CliError(`the profile's ${feeds} input "${input}" but no input of the model takes ${made.what} [batch, ${made.dims.join(", ")}] (inputs: ${inputs}): is the profile this model's?`);
  }
  const fix = names.length === 1 ? `--input ${names[0]}` : "--input naming one of them";
  return new CliError(`the profile's ${feeds} input "${input}" but the model's inputs are ${names.map((n) => `"${n}"`).join(", ")}: profile again with ${fix}`);
}

/**
 * The manifest's outputs: the profile's (`driftline profile --model` described them), else the
 * model's (describeOutputs), with the one the profile names as its embedding of kind `embedding`,
 * so no class or score is read off it.
 */
function manifestOutputs(model: LoadedModel, file: ProfileFile, labels: string[]): Output[] {
  const profiled = file.outputs?.find((o) => o.labels)?.labels;
  // the profile's outputs are what its reference predictions were sketched as: other labels would not be taken
  if (file.outputs && labels.length && String(labels) !== String(profiled)) {
    throw new UsageError(
      `--labels ${labels.join(",")}: the profile's outputs have ${profiled ? `the labels ${profiled.join(",")}` : "no labels"}; profile again with --model and --labels to change them`,
    );
  }
  return markEmbedding(file.outputs ?? describeOutputs(model, labels), file.embedding?.output);
}

/**
 * The model's inputs with the profile's medium on the one it feeds. A CliError when the model has
 * no such input, or when the tensor the medium's preprocessing makes does not fit the input's
 * shape, which would fail every client's first run.
 */
function withMedia(model: LoadedModel, input: string, media: Media): Input[] {
  const tensor = model.inputs.find((i) => i.name === input);
  const dims = mediaDims(media);
  if (!tensor) throw noSuchInput(model, `${media.kind} feeds`, input, dims && { what: media.kind === "image" ? "an image's" : "audio's", dims });
  if (dims && !shapeTakes(tensor.shape, [undefined, ...dims])) {
    const fields = media.kind === "image" ? "layout, height and width" : "frameLength";
    // no --media changes the rank of the tensor a medium makes
    const fix =
      tensor.shape.length === dims.length + 1
        ? `profile again with the model's ${fields} in --media`
        : `no ${media.kind} fits an input of ${tensor.shape.length} dimensions; is the profile this model's?`;
    throw new CliError(`the profile's ${media.kind} makes [batch, ${dims.join(", ")}] but the model's input "${input}" is [${tensor.shape.join(", ")}]: ${fix}`);
  }
  return model.inputs.map((i) => (i.name === input ? { ...i, media } : i));
}

/** Tries of an upload whose connection fails: the PUT is idempotent (the collector keys the bytes by their hash). */
const UPLOAD_TRIES = 3;

/**
 * PUT /v1/artifacts/:sha256 with a progress bar; the collector checks the hash. A connection the
 * collector drops (a reset, a restart) is tried again, up to {@link UPLOAD_TRIES} times, a second
 * more between tries.
 */
async function upload(conn: Connection, sha256: string, bytes: Uint8Array): Promise<void> {
  for (let tried = 1; ; tried++) {
    const bar = progress(`uploading ${formatBytes(bytes.length)}`, bytes.length, formatBytes);
    try {
      await request(conn, `/v1/artifacts/${sha256}`, {
        method: "PUT",
        body: chunked(bytes, (sent) => bar.update(sent)),
        headers: { "content-type": "application/octet-stream", "content-length": String(bytes.length) },
      });
      bar.done(`uploaded, sha256 ${sha256.slice(0, 12)}…`);
      return;
    } catch (err) {
      if (!(err instanceof NoAnswerError) || tried === UPLOAD_TRIES) throw err;
      console.error(`${err.message}: uploading again (${tried + 1} of ${UPLOAD_TRIES})`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * tried));
    }
  }
}

/** `bytes` as a stream of 256 KiB chunks, telling `sent` how many went so far. */
function chunked(bytes: Uint8Array, sent: (n: number) => void): ReadableStream<Uint8Array> {
  const chunk = 256 * 1024;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      const part = bytes.subarray(at, at + chunk);
      at += part.length;
      sent(at);
      controller.enqueue(part);
    },
  });
}
