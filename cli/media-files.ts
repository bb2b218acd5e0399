import { type Dirent, readFileSync, readdirSync } from "node:fs";
import { extname, isAbsolute, join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import wavefile from "wavefile";
import type { RgbaImage } from "../protocol/preprocess/image.ts";
import { CliError, fileReason, oneLine } from "./args.ts";

/** The eight bytes every PNG file starts with. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * What pngjs's synchronous reader says when it stops, in words for people: it reports where the
 * bytes ran out or were left over, not why (a chunk it could not parse leaves the rest unread).
 */
const PNG_READER_ERRORS: Record<string, string> = {
  "There are some read requests waitng on finished stream": "the file ends before the image does: truncated",
  "unrecognised content at end of stream": "a corrupt chunk, or bytes after the image",
};

/** A PNG file as RGBA pixels (pngjs); an Error saying why the bytes are not one. */
function decodePng(bytes: Buffer): RgbaImage {
  if (!bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) throw new Error("no PNG signature");
  try {
    return PNG.sync.read(bytes);
  } catch (err) {
    const why = err instanceof Error && PNG_READER_ERRORS[err.message];
    throw why ? new Error(why) : err;
  }
}

const decodeJpeg = (bytes: Buffer): RgbaImage => jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });

/** File extensions `driftline profile --images` reads: the format's name, and its decoder. */
const IMAGE_FORMATS: Record<string, { name: string; decode: (bytes: Buffer) => RgbaImage }> = {
  ".png": { name: "PNG", decode: decodePng },
  ".jpg": { name: "JPEG", decode: decodeJpeg },
  ".jpeg": { name: "JPEG", decode: decodeJpeg },
};

/**
 * The files of a directory with one of `extensions` (case-insensitive), sorted by name, and when
 * it holds anything else, one line saying what was skipped and why; a CliError when it cannot be
 * read (saying why, and for a relative path the folder it was looked for in) or holds no such file.
 *
 * @param dir - the directory
 * @param extensions - extensions with their dot
 * @param what - what the files are, for errors
 * @example listMedia("train", [".png"], "images") // { files: ["train/a.png"], skipped: "skipped 2 of 3 entries in train: 1 not .png (notes.txt), 1 subfolder (raw; subfolders are not read)" }
 */
export function listMedia(dir: string, extensions: readonly string[], what: string): { files: string[]; skipped: string | undefined } {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const why = fileReason(err);
    // a user in another folder than their data's: say where a relative path was looked for
    const where = isAbsolute(dir) ? "" : ` (relative to ${process.cwd()})`;
    throw new CliError(`cannot read the directory ${dir}${why ? `: ${why}` : ""}${where}`);
  }
  const [files, others, folders]: [string[], string[], string[]] = [[], [], []];
  for (const e of entries) (e.isDirectory() ? folders : extensions.includes(extname(e.name).toLowerCase()) ? files : others).push(e.name);
  if (files.length === 0) throw new CliError(`${dir} holds no ${what} (${extensions.join(", ")})`);
  const some = (names: string[]) => [...names.sort().slice(0, 3), ...(names.length > 3 ? ["…"] : [])].join(", ");
  const why: string[] = [];
  if (others.length) why.push(`${others.length} not ${extensions.join(", ")} (${some(others)})`);
  if (folders.length) why.push(`${folders.length} ${folders.length === 1 ? "subfolder" : "subfolders"} (${some(folders)}; subfolders are not read)`);
  const skipped = why.length ? `skipped ${others.length + folders.length} of ${entries.length} entries in ${dir}: ${why.join(", ")}` : undefined;
  return { files: files.sort().map((n) => join(dir, n)), skipped };
}

/** Extensions {@link decodeImage} reads. */
export const IMAGE_EXTENSIONS = Object.keys(IMAGE_FORMATS);

/**
 * A PNG or JPEG file as RGBA pixels (pngjs, jpeg-js); a one-line CliError when it does not
 * decode: `photo.png: not a valid PNG (the file ends before the image does: truncated)`.
 *
 * @param path - the file
 */
export function decodeImage(path: string): RgbaImage {
  const format = IMAGE_FORMATS[extname(path).toLowerCase()];
  if (!format) throw new CliError(`${path}: not a PNG or JPEG file`);
  const bytes = readFileSync(path);
  try {
    return format.decode(bytes);
  } catch (err) {
    throw new CliError(`${path}: not a valid ${format.name} (${oneLine(err)})`);
  }
}

/** A mono clip. */
export interface Clip {
  samples: Float32Array;
  sampleRate: number;
}

/**
 * A WAV file as mono float samples (channels averaged) at its own rate (wavefile); a one-line
 * CliError when it does not decode.
 *
 * @param path - the file
 */
export function decodeWav(path: string): Clip {
  const bytes = readFileSync(path);
  try {
    const wav = new wavefile.WaveFile(bytes);
    wav.toBitDepth("32f");
    const channels = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
    const list = Array.isArray(channels) ? channels : [channels];
    const samples = new Float32Array(list[0]!.length);
    for (const channel of list) channel.forEach((v, i) => (samples[i]! += v / list.length));
    return { samples, sampleRate: (wav.fmt as { sampleRate: number }).sampleRate };
  } catch (err) {
    throw new CliError(`${path}: not a valid WAV file (${oneLine(err)})`);
  }
}
