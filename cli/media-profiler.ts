import { blurValue } from "../protocol/blur.ts";
import { audioDescriptors, resample } from "../protocol/preprocess/audio.ts";
import { DESCRIPTORS, recordedDescriptors } from "../protocol/preprocess/descriptors.ts";
import { type Plane, type RgbaImage, fitImage, imageDescriptors, imageTensor } from "../protocol/preprocess/image.ts";
import { type EncodedTextBatch, type TensorLike, type TextEncodingHook, textDescriptors, unknownShareProblem } from "../protocol/preprocess/text.ts";
import type { Input, Output } from "../protocol/schema/manifest.ts";
import type { Media } from "../protocol/schema/media.ts";
import type { ReferenceProfile } from "../protocol/schema/profile.ts";
import { NumericSketch, toBase64 } from "../protocol/sketch/index.ts";
import { CliError, oneLine } from "./args.ts";
import type { Clip } from "./media-files.ts";
import { type LoadedModel, assertFits, mediaDims, runModel } from "./onnx-model.ts";
import { PredictionSketcher } from "./profiler.ts";

/** One reference item of a medium: an image, a clip or a text. */
export type MediaItem = RgbaImage | Clip | string;

/** The model run on every item, its input, and the output sketched. */
interface ItemModel {
  model: LoadedModel;
  input: Input;
  output: Output;
}

/**
 * `driftline profile --images | --audio | --text`: sketches the descriptors of every reference
 * item as the runtime will (the same preprocessing, protocol/preprocess/), and with `--model` runs
 * the model on each item fed as the runtime's media modules feed it (runtime/media/: the same
 * protocol/ code) and sketches its predictions; a text goes through the app's encoder
 * (`--encoder`, with or without the model) for its unknown-token share. What does not fit the
 * model is a one-line CliError: an image or frame shape (`--media`) when constructed, the
 * encoder's feeds and onnxruntime's failures when an item is added.
 */
export class MediaProfiler {
  /** Items profiled (for audio: model frames). */
  rows = 0;
  private readonly sketches: Map<string, NumericSketch>;
  private readonly predictions: PredictionSketcher | undefined;

  /**
   * @param input - the model input the medium feeds
   * @param media - its medium and preprocessing
   * @param model - the model to run and the output to sketch
   * @param encodeText - the app's text encoder (`--encoder`): its unknown-token share, and the model's feeds
   * @throws CliError when the tensor `media` makes of an image or frame does not fit the model's input
   */
  constructor(
    private readonly input: string,
    private readonly media: Media,
    private readonly model?: ItemModel,
    private readonly encodeText?: TextEncodingHook,
  ) {
    this.sketches = new Map(DESCRIPTORS[media.kind].map((d) => [`${input}.${d}`, new NumericSketch()]));
    this.predictions = model && new PredictionSketcher(model.output);
    // an image or a frame is one tensor --media shapes: check it before any item is read
    if (model && media.kind !== "text") {
      const { dtype, dims } = fedTensor(media, model.input);
      assertFits(model.input, dtype, dims, "--media");
    }
  }

  /**
   * Adds one item.
   *
   * @param item - an image for an image input, a clip for audio (its whole model frames, each an item: see modelFrames), a text for text
   */
  async add(item: MediaItem): Promise<void> {
    const media = this.media;
    if (media.kind === "image") {
      const image = item as RgbaImage;
      const planes = fitImage(image, media);
      this.rows++;
      this.record(imageDescriptors(planes, image));
      if (this.model) await this.predict(this.imageFeeds(planes, media));
    } else if (media.kind === "audio") {
      const clip = item as Clip;
      for (const frame of modelFrames(resample(clip.samples, clip.sampleRate, media.sampleRate), media.frameLength)) {
        this.rows++;
        this.record(audioDescriptors(frame, media));
        if (this.model) await this.predict(this.audioFeeds(frame, media));
      }
    } else {
      const text = item as string;
      const encoded = this.encodeText && (await this.encode(text));
      this.rows++;
      // the unknown-token share as the runtime records it (runtime/media/text.ts): the encoder's,
      // NaN when it reports none or there is no --encoder, as for an app whose hook reports none
      this.record({ ...textDescriptors(text), unknownTokens: encoded?.unknownTokens?.[0] ?? NaN });
      if (encoded?.feeds) await this.predict(encoded.feeds);
    }
  }

  /** The profile's feature sketches (and prediction sketch, when a model ran). */
  result(): Pick<ReferenceProfile, "features" | "prediction"> {
    const features = Object.fromEntries([...this.sketches].map(([name, s]) => [name, { kind: "numeric" as const, sketch: toBase64(s.encode()) }]));
    return { features, ...(this.predictions && { prediction: this.predictions.prediction }) };
  }

  /** Records each descriptor as clients record it (protocol/preprocess/descriptors.ts `recordedDescriptors`, then blurred). */
  private record(descriptors: object): void {
    const recorded = recordedDescriptors({ ...descriptors });
    for (const [name, value] of Object.entries(descriptors) as [string, number][]) this.sketches.get(`${this.input}.${name}`)?.update(value, blurValue(recorded[name]!));
  }

  // Each item is fed as the runtime feeds it (runtime/media/), from the same protocol/preprocess/ code.

  private imageFeeds(planes: Plane[], media: ImageMedia): Feeds {
    const { model, input } = this.model!;
    const { dtype, dims } = fedTensor(media, input);
    return { [input.name]: new model.Tensor(dtype, imageTensor(planes, { ...media, dtype }), dims) };
  }

  /** A frame, or a clip shorter than one zero-padded to it, as the runtime writes it. */
  private audioFeeds(heard: Float32Array, media: AudioMedia): Feeds {
    const { model, input } = this.model!;
    const frame = new Float32Array(media.frameLength);
    frame.set(heard);
    return { [input.name]: new model.Tensor("float32", frame, fedTensor(media, input).dims) };
  }

  /**
   * What the app's encoder makes of the text: the share of unknown tokens, and with a model its
   * feeds ({@link modelFeeds}).
   */
  private async encode(text: string): Promise<{ feeds: Feeds | undefined; unknownTokens?: ArrayLike<number> | undefined }> {
    let encoded: EncodedTextBatch | undefined;
    try {
      encoded = await this.encodeText!([text], this.input);
    } catch (err) {
      throw new CliError(`--encoder failed: ${oneLine(err)}`);
    }
    // as the runtime refuses it (runtime/media/text.ts)
    const problem = unknownShareProblem(encoded?.unknownTokens?.[0] ?? NaN, "--encoder's unknownTokens[0]");
    if (problem) throw new CliError(problem);
    return { feeds: this.model && this.modelFeeds(encoded?.feeds ?? {}), unknownTokens: encoded?.unknownTokens };
  }

  /**
   * The encoder's feeds as the model's tensors: they feed every input of the model (nothing else
   * can) and nothing else, each a tensor the input takes; a CliError says what does not fit.
   */
  private modelFeeds(feeds: EncodedTextBatch["feeds"]): Feeds {
    const { model } = this.model!;
    const [made, taken] = [Object.keys(feeds), model.inputs.map((i) => i.name)];
    if (made.length !== taken.length || !taken.every((name) => made.includes(name))) {
      const list = (names: string[]) => (names.length ? names.map((n) => `"${n}"`).join(", ") : "none");
      throw new CliError(`--encoder makes the feeds ${list(made)} but the model's inputs are ${list(taken)}: encodeText answers { feeds } by input name`);
    }
    const tensor = (at: Input): Feeds[string] => {
      const t = feeds[at.name] as Partial<TensorLike> | undefined;
      if (typeof t?.type !== "string" || !Array.isArray(t.dims)) throw new CliError(`--encoder's feed "${at.name}" is not a tensor ({ type, data, dims })`);
      assertFits(at, t.type, t.dims, "--encoder");
      try {
        return new model.Tensor(t.type as "float32", t.data as Float32Array, t.dims);
      } catch (err) {
        throw new CliError(`--encoder's feed "${at.name}": ${oneLine(err)}`);
      }
    };
    return Object.fromEntries(model.inputs.map((i) => [i.name, tensor(i)]));
  }

  /** Runs the model on one item's feeds and sketches its prediction. */
  private async predict(feeds: Feeds): Promise<void> {
    const { model, output } = this.model!;
    const result = await runModel(model, feeds, [output.name]);
    this.predictions!.add(result[output.name]!.data as Float32Array);
  }
}

type ImageMedia = Extract<Media, { kind: "image" }>;
type AudioMedia = Extract<Media, { kind: "audio" }>;

/**
 * The element type and dimensions of the tensor one image or audio frame is fed as: one row laid
 * out as the runtime lays it out (runtime/validate.ts), uint8 for a uint8 image input, else float32.
 *
 * @param media - the input's image or audio preprocessing
 * @param input - the model's input
 */
function fedTensor(media: ImageMedia | AudioMedia, input: Input): { dtype: "float32" | "uint8"; dims: number[] } {
  return { dtype: media.kind === "image" && input.dtype === "uint8" ? "uint8" : "float32", dims: [1, ...mediaDims(media)!] };
}

/**
 * The items a clip at the model's rate is, one call of the app each: its whole frames of
 * `frameLength` samples, as an app feeding a stream frame by frame passes them (the runtime refuses
 * a longer clip and records each frame's descriptors: a 0.032 s `duration` for 512 samples at
 * 16 kHz). A partial frame after whole ones is left out: such an app holds those samples back for
 * the next frame, which a file does not have, so it never passes a short frame mid-stream. A clip
 * shorter than one frame is one item, as the app would pass it (the runtime zero-pads it); an
 * empty clip is none.
 *
 * @param heard - the clip at the model's rate
 * @param frameLength - samples per model frame
 */
function modelFrames(heard: Float32Array, frameLength: number): Float32Array[] {
  if (heard.length < frameLength) return heard.length ? [heard] : [];
  return Array.from({ length: Math.floor(heard.length / frameLength) }, (_, f) => heard.subarray(f * frameLength, (f + 1) * frameLength));
}

/** Feeds of one item, by input name. */
type Feeds = Record<string, InstanceType<LoadedModel["Tensor"]>>;
