import { z } from "zod";

/** An image input: how the runtime (and `driftline profile`) turns a picture into the tensor (protocol/preprocess/image.ts). */
export const imageMediaSchema = z.strictObject({
  kind: z.literal("image"),
  height: z.int().min(1).max(4096),
  width: z.int().min(1).max(4096),
  layout: z.enum(["NCHW", "NHWC"]),
  channels: z.enum(["RGB", "BGR"]),
  /** `stretch` to the size; `cover`: scale to fill, crop the centre; `contain`: scale to fit, pad with black. */
  fit: z.enum(["stretch", "cover", "contain"]),
  /** Pillow's resampling filters. */
  filter: z.enum(["nearest", "bilinear", "bicubic"]),
  /** Pixel values 0–255 times this. @defaultValue 1 / 255 */
  scale: z.number().positive().max(1e6).optional(),
  /** Then per channel (in `channels` order) `(value − mean) / std`. @defaultValue 0 and 1 */
  mean: z.array(z.number().min(-1e6).max(1e6)).length(3).optional(),
  std: z.array(z.number().positive().max(1e6)).length(3).optional(),
});

/** An audio input: the model's sample rate and frame length (protocol/preprocess/audio.ts). */
export const audioMediaSchema = z.strictObject({
  kind: z.literal("audio"),
  sampleRate: z.int().min(1000).max(384_000),
  frameLength: z
    .int()
    .min(1)
    .max(1 << 20),
});

/** A text input: the app's `encode(text)` hook makes the tensors (tokenizers live in the app). */
export const textMediaSchema = z.strictObject({ kind: z.literal("text") });

/** What kind of medium an input takes, and how it is preprocessed; absent for tabular and plain tensor inputs. */
export const mediaSchema = z.discriminatedUnion("kind", [imageMediaSchema, audioMediaSchema, textMediaSchema]);

/** An input's medium. */
export type Media = z.infer<typeof mediaSchema>;
