/**
 * `driftline/image` (dist/driftline-image.js): image inputs. Any image source becomes RGBA pixels,
 * fitted and resampled as the manifest says (protocol/preprocess/image.ts, the code `driftline
 * profile --images` runs), written into the model's tensor, and described: brightness, contrast,
 * saturation, sharpness and the source's size.
 *
 * @example
 * import image from "driftline/image";
 * const rt = await createRuntime({ collector, key, model: "pets", media: { image } });
 * const { label } = await rt.predict({ image: document.querySelector("img") });
 */
import { DriftlineError } from "../../protocol/errors.ts";
import { DESCRIPTORS } from "../../protocol/preprocess/descriptors.ts";
import { type ImageSpec, type RgbaImage, fitImage, imageDescriptors, imageTensor } from "../../protocol/preprocess/image.ts";
import { mediaPlan } from "./plan.ts";
import type { ImageSource, MediaModule } from "../types.ts";

/**
 * A source's own size: natural for images, intrinsic for video, display size for frames; 0 × 0 for
 * an image not loaded (or broken) and a video without a current frame, which a canvas draws as
 * nothing — their layout `width` and `height` would give a black image of that size.
 */
function sizeOf(source: Exclude<ImageSource, RgbaImage>): [number, number] {
  const s = source as Partial<HTMLImageElement & HTMLVideoElement & VideoFrame & { width: number; height: number }>;
  if ("naturalWidth" in s) return s.complete ? [s.naturalWidth!, s.naturalHeight!] : [0, 0];
  // HAVE_CURRENT_DATA
  if ("videoWidth" in s) return s.readyState! >= 2 ? [s.videoWidth!, s.videoHeight!] : [0, 0];
  return [s.displayWidth || s.width || 0, s.displayHeight || s.height || 0];
}

/**
 * RGBA pixels of any image source: ImageData and `{ data, width, height }` as they are (pixels
 * that are not bytes — NaN, normalised floats, 16-bit samples — refused), anything else drawn
 * onto a canvas of its own size.
 *
 * @param source - what the app passed
 * @param input - the input's name, for errors
 */
function rgba(source: unknown, input: string): RgbaImage {
  const bad = (why: string) => new DriftlineError("validation", `${input}: ${why}`);
  if (!source || typeof source !== "object") throw bad("not an image");
  const { data, width, height } = source as RgbaImage;
  if (data && typeof data === "object") {
    if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height) && data.length === width * height * 4))
      throw bad("RGBA pixels need a whole width and height above 0 and data.length = width × height × 4");
    if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array))
      for (let i = 0; i < data.length; i++) {
        const v = data[i] as number;
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw bad(`data[${i}] is ${v}: RGBA pixels are whole numbers 0–255 (a Uint8ClampedArray, as ImageData holds)`);
      }
    return source as RgbaImage;
  }
  const [w, h] = sizeOf(source as Exclude<ImageSource, RgbaImage>);
  if (!(w > 0 && h > 0) || typeof OffscreenCanvas === "undefined") throw bad("not an image this platform can draw (or not loaded yet)");
  try {
    const context = new OffscreenCanvas(w, h).getContext("2d", { willReadFrequently: true })!;
    context.drawImage(source as CanvasImageSource, 0, 0, w, h);
    return context.getImageData(0, 0, w, h);
  } catch (err) {
    // a cross-origin image taints the canvas (SecurityError); a broken one cannot be drawn (InvalidStateError)
    const { name, message } = err as Error;
    const hint = name === "SecurityError" ? ': an image from another origin needs crossOrigin = "anonymous" and CORS headers' : "";
    throw bad(`its pixels cannot be read (${name}: ${message})${hint}`);
  }
}

/** The image module: fills image inputs and writes their descriptors. */
const image: MediaModule["filler"] = (input) => {
  const spec: ImageSpec = { ...(input.media as Omit<ImageSpec, "dtype">), dtype: input.dtype === "uint8" ? "uint8" : "float32" };
  const size = 3 * spec.width * spec.height;
  return {
    descriptors: DESCRIPTORS.image,
    async fill(values, buffer, describe) {
      values.forEach((value, r) => {
        const source = rgba(value, input.name);
        const planes = fitImage(source, spec);
        imageTensor(planes, spec, buffer, r * size);
        describe(r, { ...imageDescriptors(planes, source) });
      });
      return undefined;
    },
  };
};

export default { filler: image, plan: mediaPlan } satisfies MediaModule;
