import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TextEncodingHook } from "../../protocol/preprocess/text.ts";
import { type Media, mediaSchema } from "../../protocol/schema/media.ts";
import { CliError, UsageError, fileReason, oneLine, readTextFile } from "../args.ts";
import { type Clip, IMAGE_EXTENSIONS, decodeImage, decodeWav, listMedia } from "../media-files.ts";
import { type MediaItem, MediaProfiler } from "../media-profiler.ts";
import { type LoadedModel, describeOutputs, markEmbedding } from "../onnx-model.ts";
import type { ProfileFile } from "../profiler.ts";
import { progress } from "../progress.ts";

/** The flags of `driftline profile` that the media path reads. */
export interface MediaFlags {
  images?: string | undefined;
  audio?: string | undefined;
  text?: string | undefined;
  media?: string | undefined;
  input?: string | undefined;
  encoder?: string | undefined;
  /** The model output that is the embedding: never sketched as the prediction. */
  "embedding-output"?: string | undefined;
  labels: string[];
}

/** The flags that name the items and their medium. */
type DataFlags = Pick<MediaFlags, "images" | "audio" | "text" | "media" | "encoder">;

/** Where the items come from, and how each is read. */
interface Source {
  kind: Media["kind"];
  /** File paths, or the texts of a file. */
  items: string[];
  /** Where item `i` is, for messages: its path, or `FILE:LINE`. */
  where: (i: number) => string;
  /** What of the folder was not read, and why, in one line (cli/media-files.ts listMedia). */
  skipped?: string | undefined;
  read: (item: string) => MediaItem;
  /** What one item is: "image", "clip", "text". */
  what: string;
}

/** `n` items as a reader says it: "1 clip", "7 clips". */
const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function sourceOf(flags: DataFlags): Source {
  const given = [flags.images && "--images", flags.audio && "--audio", flags.text && "--text"].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(" and ")}: profile one medium at a time`);
  const files = ({ files, skipped }: ReturnType<typeof listMedia>) => ({ items: files, where: (i: number) => files[i]!, skipped });
  if (flags.images) return { kind: "image", ...files(listMedia(flags.images, IMAGE_EXTENSIONS, "images")), read: decodeImage, what: "image" };
  if (flags.audio) return { kind: "audio", ...files(listMedia(flags.audio, [".wav"], "WAV files")), read: (path): Clip => decodeWav(path), what: "clip" };
  // a byte-order mark (Windows editors write one) is the file's, not its first text's
  const lines = readTextFile(flags.text!, "the texts")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/);
  // one text per line; a blank line is no text
  const numbers = lines.flatMap((l, i) => (l.trim() === "" ? [] : [i + 1]));
  if (numbers.length === 0) throw new CliError(`${flags.text} holds no texts (one per line; blank lines are none)`);
  return { kind: "text", items: numbers.map((n) => lines[n - 1]!), where: (i) => `${flags.text}:${numbers[i]}`, read: (line) => line, what: "text" };
}

/**
 * The input's medium from `--media` (JSON, or a file holding it); its `kind` may be left out (the
 * flag that named the data says it). Text needs no `--media`.
 */
function mediaOf(flags: DataFlags, kind: Media["kind"]): Media {
  if (flags.media === undefined) {
    if (kind === "text") return { kind };
    throw new UsageError(`--${kind === "image" ? "images" : "audio"} needs --media: the input's preprocessing as JSON (docs/models.md)`);
  }
  const inline = flags.media.trimStart().startsWith("{");
  let text: string;
  try {
    text = inline ? flags.media : readFileSync(flags.media, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CliError(`--media takes the preprocessing as JSON ({ … }) or a file of it: no file ${flags.media}`);
    throw new CliError(`cannot read the --media file ${flags.media}: ${fileReason(err) ?? oneLine(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`--media${inline ? "" : ` ${flags.media}`}: not valid JSON (${err instanceof Error ? err.message : err})`);
  }
  // without a kind, a preprocessing of the other medium would only show as wrong fields
  const other = kind === "image" ? "audio" : kind === "audio" ? "image" : undefined;
  if (other && (json as { kind?: unknown } | null)?.kind === undefined && mediaSchema.safeParse({ ...(json as object), kind: other }).success) {
    throw new CliError(`--media describes ${other} but the data are ${kind}`);
  }
  const parsed = mediaSchema.safeParse({ kind, ...(json as object) });
  if (!parsed.success) throw new CliError(`--media: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  if (parsed.data.kind !== kind) throw new CliError(`--media describes ${parsed.data.kind} but the data are ${kind}`);
  return parsed.data;
}

/** The app's text encoder: the default (or `encodeText`) export of an ES module. */
async function loadEncoder(path: string): Promise<TextEncodingHook> {
  let module: { default?: unknown; encodeText?: unknown };
  try {
    module = await import(pathToFileURL(resolve(path)).href);
  } catch (err) {
    throw new CliError(`--encoder ${path}: ${err instanceof Error ? err.message : err}`);
  }
  const encode = module.default ?? module.encodeText;
  if (typeof encode !== "function") throw new CliError(`--encoder ${path}: export the app's encodeText(texts, input) as the default export`);
  return encode as TextEncodingHook;
}

/** The items of `driftline profile --images | --audio | --text` and their medium, flags checked. */
export interface MediaSource {
  source: Source;
  media: Media;
}

/**
 * The items and medium `--images DIR | --audio DIR | --text FILE` and `--media` name, every flag
 * checked, so that a mistake in them is said before long work (the reference embeddings) starts.
 *
 * @param flags - the command's flags
 * @param withModel - whether `--model` is given
 */
export function openMedia(flags: DataFlags, withModel: boolean): MediaSource {
  const source = sourceOf(flags);
  const media = mediaOf(flags, source.kind);
  if (flags.encoder && media.kind !== "text") throw new UsageError("--encoder goes with --text");
  if (withModel && media.kind === "text" && !flags.encoder) throw new UsageError("--text with --model needs --encoder FILE: the app's encodeText (tokenizers live in the app)");
  return { source, media };
}

/**
 * `driftline profile --images DIR | --audio DIR | --text FILE`: descriptor sketches of every item,
 * and with `--model` the model's predictions, into profile.json for `publish`.
 *
 * @param opened - the items and medium, from {@link openMedia}
 * @param flags - the command's flags
 * @param model - `--model`, loaded
 * @returns the profile file, and what to say of it
 */
export async function profileMedia({ source, media }: MediaSource, flags: MediaFlags, model: LoadedModel | undefined): Promise<{ file: ProfileFile; summary: string }> {
  const started = Date.now();
  const input = flags.input ?? (model?.inputs.length === 1 ? model.inputs[0]!.name : source.kind);
  const modelInput = model?.inputs.find((i) => i.name === input);
  if (model && !modelInput) {
    // an image or audio model of several inputs cannot be fed whichever --input names the medium's
    const fix =
      media.kind !== "text" && model.inputs.length > 1
        ? `profile feeds only the ${media.kind} input, and the others take what the app passes at run time: profile the descriptors without --model`
        : "pass --input";
    throw new CliError(`the model has no input "${input}" (inputs: ${model.inputs.map((i) => i.name).join(", ")}); ${fix}`);
  }
  // the app feeds a text model's other inputs (attention mask …) through its encoder; nothing feeds the others
  const unfed = media.kind === "text" ? [] : (model?.inputs.filter((i) => i.name !== input).map((i) => i.name) ?? []);
  if (unfed.length) throw new CliError(`the model's inputs ${unfed.join(", ")} take what the app passes at run time, which profile cannot: profile the descriptors without --model`);
  const encodeText = flags.encoder ? await loadEncoder(flags.encoder) : undefined;
  const outputs = model && markEmbedding(describeOutputs(model, flags.labels), flags["embedding-output"]);
  const sketched = outputs && (outputs.find((o) => o.kind === "probabilities") ?? outputs.find((o) => o.kind === "regression" || o.kind === "score"));
  if (outputs && !sketched) {
    const embedding = flags["embedding-output"];
    throw new CliError(
      outputs.some((o) => o.kind === "embedding")
        ? `the model's only output is its embedding "${embedding}": it makes no prediction to sketch; profile without --model (the reference embeddings come from --embeddings)`
        : "the model has no float output to sketch predictions from",
    );
  }
  const profiler = new MediaProfiler(input, media, model && { model, input: modelInput!, output: sketched! }, encodeText);
  const bar = progress(`profiling ${counted(source.items.length, source.what)}`, source.items.length);
  for (const [i, item] of source.items.entries()) {
    const read = source.read(item);
    try {
      await profiler.add(read);
    } catch (err) {
      // what does not fit the model (the encoder's feeds, onnxruntime's refusal), said of this item
      throw err instanceof CliError ? new CliError(`${source.where(i)}: ${err.message}`) : err;
    }
    bar.update(i + 1);
  }
  bar.done(counted(source.items.length, source.what));
  // only clips can make no item (an empty clip is none: media-profiler.ts modelFrames)
  if (profiler.rows === 0) throw new CliError(`the WAV files of ${flags.audio} hold no samples: a profile needs at least one frame`);
  // said once the work is done (a failure stays one line), so a count below the folder's is no surprise
  if (source.skipped) console.error(source.skipped);
  const file: ProfileFile = {
    format: 1,
    input,
    media,
    features: [],
    ...(outputs && { outputs }),
    profile: { format: 1, rows: profiler.rows, ...profiler.result(), createdAt: new Date().toISOString() },
  };
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const items = source.kind === "audio" ? `${counted(source.items.length, "clip")} (${counted(profiler.rows, "frame")})` : counted(profiler.rows, source.what);
  return { file, summary: `${items}, ${Object.keys(file.profile.features).length} descriptors${model ? ", predictions sketched" : ""} (${seconds} s)` };
}
