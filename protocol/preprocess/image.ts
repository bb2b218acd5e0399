/**
 * Image preprocessing as a manifest names it — fit, resample, channel order, scale, mean/std,
 * layout — and image descriptors. The runtime and `driftline profile` run this same code, so every
 * client feeds the model what training did. Resampling follows Pillow's `Image.resize` (the
 * reference most training pipelines and transformers.js match): a separable filter whose support
 * widens with the downscale factor (antialiasing), on float pixels.
 */

/** How a source of another aspect ratio fills the model's input. */
export type ImageFit = "stretch" | "cover" | "contain";
/** Resampling filter, as Pillow names them. */
export type ImageFilter = "nearest" | "bilinear" | "bicubic";

/** What a manifest says about one image input. */
export interface ImageSpec {
  /** Model input height and width, in pixels. */
  height: number;
  width: number;
  /** NCHW (channels first) or NHWC. */
  layout: "NCHW" | "NHWC";
  /** Channel order of the tensor. */
  channels: "RGB" | "BGR";
  /** `stretch` to the size; `cover`: scale to fill and crop the centre; `contain`: scale to fit and pad with black. */
  fit: ImageFit;
  filter: ImageFilter;
  /** Pixel values (0–255) are multiplied by this first. @defaultValue 1 / 255 */
  scale?: number;
  /** Then per channel (in `channels` order) `(value − mean) / std`. @defaultValue 0 and 1 */
  mean?: readonly number[];
  std?: readonly number[];
  /** `uint8`: the resampled pixels rounded, without scale, mean or std. */
  dtype: "float32" | "uint8";
}

/** An RGBA image: `data` holds width × height × 4 bytes, row by row (ImageData's layout). */
export interface RgbaImage {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/** One channel of float pixels, row by row. */
export interface Plane {
  data: Float32Array;
  width: number;
  height: number;
}

/** One channel of a source read in place: pixel k is `data[k * step + offset]`. */
interface Channel {
  data: ArrayLike<number>;
  width: number;
  height: number;
  step: number;
  offset: number;
}

interface Filter {
  support: number;
  weight: (x: number) => number;
}

const FILTERS: Record<Exclude<ImageFilter, "nearest">, Filter> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    // Keys' cubic with a = −0.5, as Pillow
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/** A source box to resample from: [left, top, right, bottom] in source pixels (may be fractional). */
type Box = [number, number, number, number];

/**
 * Per output pixel of one axis, the first source pixel it reads and the normalised weights
 * (Pillow's `precompute_coeffs`).
 */
function coefficients(inSize: number, from: number, to: number, outSize: number, filter: Filter): { first: number[]; weights: Float64Array[] } {
  const scale = (to - from) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const first: number[] = [];
  const weights: Float64Array[] = [];
  for (let x = 0; x < outSize; x++) {
    const center = from + (x + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w = new Float64Array(Math.max(hi - lo, 0));
    let total = 0;
    for (let i = 0; i < w.length; i++) {
      w[i] = filter.weight((i + lo - center + 0.5) / filterScale);
      total += w[i]!;
    }
    if (total !== 0) for (let i = 0; i < w.length; i++) w[i]! /= total;
    first.push(lo);
    weights.push(w);
  }
  return { first, weights };
}

/**
 * A channel resampled from `box` to width × height with a convolution filter: horizontal pass
 * over the source rows the vertical pass reads (those of the box and the filter's reach), then
 * vertical.
 */
function convolve(p: Channel, box: Box, width: number, height: number, filter: Filter): Plane {
  const h = coefficients(p.width, box[0], box[2], width, filter);
  const v = coefficients(p.height, box[1], box[3], height, filter);
  const { data, step, offset } = p;
  const top = v.first[0]!;
  const bottom = v.first[height - 1]! + v.weights[height - 1]!.length;
  const rows = new Float32Array(width * (bottom - top));
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < width; x++) {
      const w = h.weights[x]!;
      const at = (y * p.width + h.first[x]!) * step + offset;
      let sum = 0;
      for (let i = 0; i < w.length; i++) sum += w[i]! * data[at + i * step]!;
      rows[(y - top) * width + x] = sum;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const w = v.weights[y]!;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let i = 0; i < w.length; i++) sum += w[i]! * rows[(v.first[y]! - top + i) * width + x]!;
      out[y * width + x] = sum;
    }
  }
  return { data: out, width, height };
}

/** A channel resampled from `box` by the nearest source pixel of each output pixel's centre (Pillow's NEAREST). */
function nearest(p: Channel, box: Box, width: number, height: number): Plane {
  const out = new Float32Array(width * height);
  const sx = (box[2] - box[0]) / width;
  const sy = (box[3] - box[1]) / height;
  for (let y = 0; y < height; y++) {
    const yin = Math.min(p.height - 1, Math.max(0, Math.floor(box[1] + (y + 0.5) * sy)));
    for (let x = 0; x < width; x++) {
      const xin = Math.min(p.width - 1, Math.max(0, Math.floor(box[0] + (x + 0.5) * sx)));
      out[y * width + x] = p.data[(yin * p.width + xin) * p.step + p.offset]!;
    }
  }
  return { data: out, width, height };
}

function resample(p: Channel, box: Box, width: number, height: number, filter: ImageFilter): Plane {
  return filter === "nearest" ? nearest(p, box, width, height) : convolve(p, box, width, height, FILTERS[filter]);
}

/**
 * The R, G and B channels of an RGBA image (alpha dropped), read in place: a camera photo of
 * 12 MP is never copied (as float planes it took 12 bytes a pixel, 144 MB).
 */
function channelsOf(image: RgbaImage): Channel[] {
  const n = image.width * image.height;
  if (!(n > 0) || image.data.length !== n * 4) throw new RangeError(`an RGBA image of ${image.width}×${image.height} holds ${n * 4} bytes, not ${image.data.length}`);
  return [0, 1, 2].map((offset) => ({ data: image.data, width: image.width, height: image.height, step: 4, offset }));
}

/**
 * The R, G and B planes of `image` fitted to the spec's size: stretched, cropped to fill
 * (`cover`, centred box of the source) or scaled to fit and centred on black (`contain`).
 *
 * @param image - the source
 * @param spec - size, fit and filter
 */
export function fitImage(image: RgbaImage, spec: Pick<ImageSpec, "width" | "height" | "fit" | "filter">): Plane[] {
  const { width: W, height: H } = spec;
  const { width: w, height: h } = image;
  const channels = channelsOf(image);
  if (spec.fit === "stretch") return channels.map((p) => resample(p, [0, 0, w, h], W, H, spec.filter));
  if (spec.fit === "cover") {
    const scale = Math.max(W / w, H / h);
    const [bw, bh] = [W / scale, H / scale];
    const box: Box = [(w - bw) / 2, (h - bh) / 2, (w + bw) / 2, (h + bh) / 2];
    return channels.map((p) => resample(p, box, W, H, spec.filter));
  }
  const scale = Math.min(W / w, H / h);
  const [rw, rh] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  const [left, top] = [Math.floor((W - rw) / 2), Math.floor((H - rh) / 2)];
  return channels.map((p) => {
    const small = resample(p, [0, 0, w, h], rw, rh, spec.filter);
    const out = new Float32Array(W * H);
    for (let y = 0; y < rh; y++) out.set(small.data.subarray(y * rw, (y + 1) * rw), (top + y) * W + left);
    return { data: out, width: W, height: H };
  });
}

/**
 * The dimensions of one image's tensor, without the batch: 3 × H × W in NCHW, H × W × 3 in NHWC.
 *
 * @param spec - the manifest's image input
 */
export const imageDims = (spec: Pick<ImageSpec, "layout" | "height" | "width">): number[] => (spec.layout === "NCHW" ? [3, spec.height, spec.width] : [spec.height, spec.width, 3]);

/**
 * The model's input tensor data for one image, as the spec says (batch of one: 3 × H × W values
 * in NCHW, H × W × 3 in NHWC).
 *
 * @param image - the source, RGBA
 * @param spec - the manifest's image input
 */
export const preprocessImage = (image: RgbaImage, spec: ImageSpec): Float32Array | Uint8Array => imageTensor(fitImage(image, spec), spec);

/**
 * Writes fitted planes into tensor data as the spec says: channel order, scale, mean/std, layout.
 *
 * @param planes - R, G, B planes from {@link fitImage}
 * @param spec - the manifest's image input
 * @param out - where (default: a new array of one image)
 * @param at - from where in `out`
 */
export function imageTensor(planes: readonly Plane[], spec: ImageSpec, out?: Float32Array | Uint8Array, at = 0): Float32Array | Uint8Array {
  const ordered = spec.channels === "BGR" ? [planes[2]!, planes[1]!, planes[0]!] : planes;
  const n = spec.width * spec.height;
  const uint8 = spec.dtype === "uint8";
  out ??= uint8 ? new Uint8Array(3 * n) : new Float32Array(3 * n);
  const scale = spec.scale ?? 1 / 255;
  ordered.forEach((p, c) => {
    const mean = spec.mean?.[c] ?? 0;
    const std = spec.std?.[c] ?? 1;
    for (let i = 0; i < n; i++) {
      const v = uint8 ? Math.min(255, Math.max(0, Math.round(p.data[i]!))) : (p.data[i]! * scale - mean) / std;
      out[at + (spec.layout === "NCHW" ? c * n + i : i * 3 + c)] = v;
    }
  });
  return out;
}

/** What an image looks like, in numbers drift can be measured on. */
export interface ImageDescriptors {
  /** Mean luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B), 0–1. */
  brightness: number;
  /** Standard deviation of luma (RMS contrast), 0–0.5. */
  contrast: number;
  /** Mean HSV saturation ((max − min) / max of R, G, B; 0 for black), 0–1. */
  saturation: number;
  /** Variance of the 4-neighbour Laplacian of luma (0–1 scale) over interior pixels: low when blurred. */
  sharpness: number;
  /** The source's size and aspect ratio (width / height). */
  width: number;
  height: number;
  aspect: number;
}

/**
 * Descriptors of an image as the model sees it: brightness, contrast, saturation and sharpness of
 * the fitted R, G, B planes (before scale and normalisation), and the source's size.
 *
 * @param planes - R, G, B planes from {@link fitImage}
 * @param source - the source's width and height
 */
export function imageDescriptors(planes: readonly Plane[], source: { width: number; height: number }): ImageDescriptors {
  const [r, g, b] = planes as [Plane, Plane, Plane];
  const { width, height } = r;
  const n = width * height;
  const luma = new Float64Array(n);
  let sum = 0;
  let saturation = 0;
  for (let i = 0; i < n; i++) {
    const [R, G, B] = [r.data[i]! / 255, g.data[i]! / 255, b.data[i]! / 255];
    luma[i] = 0.299 * R + 0.587 * G + 0.114 * B;
    sum += luma[i]!;
    const max = Math.max(R, G, B);
    if (max > 0) saturation += (max - Math.min(R, G, B)) / max;
  }
  const brightness = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (luma[i]! - brightness) ** 2;
  return {
    brightness,
    contrast: Math.sqrt(squares / n),
    saturation: saturation / n,
    sharpness: laplacianVariance(luma, width, height),
    width: source.width,
    height: source.height,
    aspect: source.width / source.height,
  };
}

/** Variance of the 4-neighbour Laplacian over the interior pixels (0 for images under 3 × 3). */
function laplacianVariance(luma: Float64Array, width: number, height: number): number {
  let count = 0;
  let sum = 0;
  let squares = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const l = luma[i - 1]! + luma[i + 1]! + luma[i - width]! + luma[i + width]! - 4 * luma[i]!;
      count++;
      sum += l;
      squares += l * l;
    }
  }
  return count === 0 ? 0 : squares / count - (sum / count) ** 2;
}
