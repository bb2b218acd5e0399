import { readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import wavefile from "wavefile";
import type { RgbaImage } from "../protocol/preprocess/image.ts";
import { CliError } from "./args.ts";

/** File extensions `driftline profile --images` reads, and how. */
const IMAGE_DECODERS: Record<string, (bytes: Buffer) => RgbaImage> = {
  ".png": (bytes) => PNG.sync.read(bytes),
  ".jpg": (bytes) => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true }),
  ".jpeg": (bytes) => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true }),
};

/**
 * The files of a directory with one of `extensions` (case-insensitive), sorted by name; a
 * CliError when it cannot be read or holds none.
 *
 * @param dir - the directory
 * @param extensions - extensions with their dot
 * @param what - what the files are, for errors
 */
export function listMedia(dir: string, extensions: readonly string[], what: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new CliError(`cannot read the directory ${dir}`);
  }
  const files = names.filter((n) => extensions.includes(extname(n).toLowerCase())).sort();
  if (files.length === 0) throw new CliError(`${dir} holds no ${what} (${extensions.join(", ")})`);
  return files.map((n) => join(dir, n));
}

/** Extensions {@link decodeImage} reads. */
export const IMAGE_EXTENSIONS = Object.keys(IMAGE_DECODERS);

/**
 * A PNG or JPEG file as RGBA pixels (pngjs, jpeg-js); a CliError when it does not decode.
 *
 * @param path - the file
 */
export function decodeImage(path: string): RgbaImage {
  const decoder = IMAGE_DECODERS[extname(path).toLowerCase()];
  if (!decoder) throw new CliError(`${path}: not a PNG or JPEG file`);
  try {
    return decoder(readFileSync(path));
  } catch (err) {
    throw new CliError(`${path} does not decode: ${err instanceof Error ? err.message : err}`);
  }
}

/** A mono clip. */
export interface Clip {
  samples: Float32Array;
  sampleRate: number;
}

/**
 * A WAV file as mono float samples (channels averaged) at its own rate (wavefile); a CliError
 * when it does not decode.
 *
 * @param path - the file
 */
export function decodeWav(path: string): Clip {
  try {
    const wav = new wavefile.WaveFile(readFileSync(path));
    wav.toBitDepth("32f");
    const channels = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
    const list = Array.isArray(channels) ? channels : [channels];
    const samples = new Float32Array(list[0]!.length);
    for (const channel of list) channel.forEach((v, i) => (samples[i]! += v / list.length));
    return { samples, sampleRate: (wav.fmt as { sampleRate: number }).sampleRate };
  } catch (err) {
    throw new CliError(`${path} does not decode as WAV: ${err instanceof Error ? err.message : err}`);
  }
}
