import { blurValue } from "../protocol/blur.ts";
import { audioDescriptors, resample } from "../protocol/preprocess/audio.ts";
import { DESCRIPTORS } from "../protocol/preprocess/descriptors.ts";
import { type RgbaImage, fitImage, imageDescriptors, preprocessImage } from "../protocol/preprocess/image.ts";
import { textDescriptors } from "../protocol/preprocess/text.ts";
import type { Input, Output } from "../protocol/schema/manifest.ts";
import type { Media } from "../protocol/schema/media.ts";
import type { ReferenceProfile } from "../protocol/schema/profile.ts";
import { NumericSketch, toBase64 } from "../protocol/sketch/index.ts";
import type { Clip } from "./media-files.ts";
import type { LoadedModel } from "./onnx-model.ts";
import { PredictionSketcher } from "./profiler.ts";

/** One reference item of a medium: an image, a clip or a text. */
export type MediaItem = RgbaImage | Clip | string;

/** The model run on every image, and the output sketched. */
interface ImageModel {
  model: LoadedModel;
  input: Input;
  output: Output;
}

/**
 * `driftline profile --images | --audio | --text`: sketches the descriptors of every reference
 * item as the runtime will (the same preprocessing, protocol/preprocess/), and for images with
 * `--model` runs the model on each preprocessed image and sketches its predictions.
 */
export class MediaProfiler {
  /** Items profiled. */
  rows = 0;
  private readonly sketches: Map<string, NumericSketch>;
  private readonly predictions: PredictionSketcher | undefined;

  /**
   * @param input - the model input the medium feeds
   * @param media - its medium and preprocessing
   * @param model - for images: the model to run and the output to sketch
   */
  constructor(
    private readonly input: string,
    private readonly media: Media,
    private readonly model?: ImageModel,
  ) {
    this.sketches = new Map(DESCRIPTORS[media.kind].map((d) => [`${input}.${d}`, new NumericSketch()]));
    this.predictions = model && new PredictionSketcher(model.output);
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
      if (this.model) await this.predict(image, media);
    } else if (media.kind === "audio") {
      const clip = item as Clip;
      this.record(audioDescriptors(resample(clip.samples, clip.sampleRate, media.sampleRate), media));
    } else this.record(textDescriptors(item as string));
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

  private async predict(image: RgbaImage, media: Extract<Media, { kind: "image" }>): Promise<void> {
    const { model, input, output } = this.model!;
    const dtype = input.dtype === "uint8" ? "uint8" : "float32";
    const data = preprocessImage(image, { ...media, dtype });
    const shape = media.layout === "NCHW" ? [1, 3, media.height, media.width] : [1, media.height, media.width, 3];
    const result = await model.session.run({ [input.name]: new model.Tensor(dtype, data, shape) }, [output.name]);
    this.predictions!.add(result[output.name]!.data as Float32Array);
  }
}
