import { blurValue } from "../protocol/blur.ts";
import { audioDescriptors, resample } from "../protocol/preprocess/audio.ts";
import { DESCRIPTORS } from "../protocol/preprocess/descriptors.ts";
import { type RgbaImage, fitImage, imageDescriptors } from "../protocol/preprocess/image.ts";
import { textDescriptors } from "../protocol/preprocess/text.ts";
import type { Input, Output } from "../protocol/schema/manifest.ts";
import type { Media } from "../protocol/schema/media.ts";
import type { ReferenceProfile } from "../protocol/schema/profile.ts";
import { NumericSketch, toBase64 } from "../protocol/sketch/index.ts";
import type { Clip } from "./media-files.ts";
import type { LoadedModel } from "./onnx-model.ts";
import image from "../runtime/media/image.ts";
import audio from "../runtime/media/audio.ts";
import text from "../runtime/media/text.ts";
import type { EncodeText, MediaFiller, MediaModule } from "../runtime/types.ts";
import { PredictionSketcher } from "./profiler.ts";

/** One reference item of a medium: an image, a clip or a text. */
export type MediaItem = RgbaImage | Clip | string;

/** The model run on every item, its input (with its `media`), the output sketched, and the app's text encoder. */
interface ItemModel {
  model: LoadedModel;
  input: Input;
  output: Output;
  encodeText?: EncodeText | undefined;
}

/** The runtime's media modules: what the model is fed is what every client feeds it. */
const MODULES: Record<Media["kind"], MediaModule> = { image, audio, text };

/**
 * `driftline profile --images | --audio | --text`: sketches the descriptors of every reference
 * item as the runtime will (the same preprocessing, protocol/preprocess/), and with `--model` runs
 * the model on each item fed by the runtime's own media modules (runtime/media/) and sketches its
 * predictions.
 */
export class MediaProfiler {
  /** Items profiled. */
  rows = 0;
  private readonly sketches: Map<string, NumericSketch>;
  private readonly predictions: PredictionSketcher | undefined;
  /** Preprocesses an item for the model, as the runtime does. */
  private readonly filler: MediaFiller | undefined;

  /**
   * @param input - the model input the medium feeds
   * @param media - its medium and preprocessing
   * @param model - the model to run and the output to sketch
   */
  constructor(
    private readonly input: string,
    private readonly media: Media,
    private readonly model?: ItemModel,
  ) {
    this.sketches = new Map(DESCRIPTORS[media.kind].map((d) => [`${input}.${d}`, new NumericSketch()]));
    this.predictions = model && new PredictionSketcher(model.output);
    this.filler = model && MODULES[media.kind].filler(model.input, model.encodeText);
  }

  /**
   * Adds one item.
   *
   * @param item - an image for an image input, a clip for audio, a text for text
   */
  async add(item: MediaItem): Promise<void> {
    this.rows++;
    const media = this.media;
    if (media.kind === "image") {
      const image = item as RgbaImage;
      this.record(imageDescriptors(fitImage(image, media), image));
    } else if (media.kind === "audio") {
      const clip = item as Clip;
      this.record(audioDescriptors(resample(clip.samples, clip.sampleRate, media.sampleRate), media));
    } else this.record(textDescriptors(item as string));
    if (this.model) await this.predict(item);
  }

  /** The profile's feature sketches (and prediction sketch, when a model ran). */
  result(): Pick<ReferenceProfile, "features" | "prediction"> {
    const features = Object.fromEntries([...this.sketches].map(([name, s]) => [name, { kind: "numeric" as const, sketch: toBase64(s.encode()) }]));
    return { features, ...(this.predictions && { prediction: this.predictions.prediction }) };
  }

  /** Records each descriptor as clients record a numeric feature (blurred: protocol/blur.ts). */
  private record(descriptors: object): void {
    for (const [name, value] of Object.entries(descriptors) as [string, number][]) this.sketches.get(`${this.input}.${name}`)?.update(value, blurValue(value));
  }

  /** Runs the model on one item, fed as the runtime feeds it (runtime/media/), and sketches its prediction. */
  private async predict(item: MediaItem): Promise<void> {
    const { model, input, output } = this.model!;
    const media = this.media;
    const dims = media.kind === "image" ? (media.layout === "NCHW" ? [3, media.height, media.width] : [media.height, media.width, 3]) : media.kind === "audio" ? [media.frameLength] : [1];
    const size = dims.reduce((a, b) => a * b, 1);
    const buffer = input.dtype === "uint8" ? new Uint8Array(size) : new Float32Array(size);
    const own = await this.filler!.fill([item], buffer, () => {});
    const feeds = own
      ? Object.fromEntries(Object.entries(own).map(([name, t]) => [name, new model.Tensor(t.type as "float32", t.data as Float32Array, t.dims)]))
      : { [input.name]: new model.Tensor(input.dtype === "uint8" ? "uint8" : "float32", buffer, [1, ...dims]) };
    const result = await model.session.run(feeds, [output.name]);
    this.predictions!.add(result[output.name]!.data as Float32Array);
  }
}
