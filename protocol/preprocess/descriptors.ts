/**
 * Descriptors as features: every image, audio or text input of a manifest adds numeric features
 * named `<input>.<descriptor>` (`image.brightness`), which reports, drift, segments, alerts, stats
 * and the dashboard treat like any other feature.
 */
import { pairedWhole } from "../blur.ts";
import type { Media } from "../schema/media.ts";
import { tensorStatFeatures } from "./tensor-stats.ts";

/** The descriptors of each medium, in report order (the fields of ImageDescriptors, AudioDescriptors, TextDescriptors). */
export const DESCRIPTORS = {
  image: ["brightness", "contrast", "saturation", "sharpness", "width", "height", "aspect"],
  audio: ["level", "zeroCrossings", "clipped", "silent", "duration"],
  /** `unknownTokens`: the share the app's `encode` hook reports, missing when it reports none. */
  text: ["characters", "words", "nonAscii", "digits", "unknownTokens"],
} as const satisfies Record<Media["kind"], readonly string[]>;

/** Descriptors that count whole things: a text's characters and words, an image's pixels. */
const COUNTS: ReadonlySet<string> = new Set(["characters", "words", "width", "height"]);

/** Shares of a text's characters: each is a count of characters over `characters`. */
const SHARES = ["nonAscii", "digits"];

/**
 * The values one input's descriptors are sketched as, before the blur every number gets
 * (protocol/blur.ts): a count is first put on cells two wide, as a feature whose `step` is 1, so
 * that a report of one text says its length to within two characters, not exactly; and what is
 * made of counts is made of the counts as recorded — a text's non-ASCII and digit shares (a count
 * ≥ 1 of them paired too; none stays 0) and an image's aspect — since the exact ratio would give
 * the counts back (8 digits of 36 characters is no share of 35 or 37). The runtime and
 * `driftline profile` both record descriptors through this.
 *
 * @param descriptors - one input's descriptors by name, e.g. `{ characters: 36, digits: 0.22, … }`
 * @example
 * recordedDescriptors({ characters: 36, digits: 8 / 36 }) // { characters: 35.76…, digits: 7.76… / 35.76… }, as 35 characters with 7 digits
 */
export function recordedDescriptors(descriptors: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(descriptors)) out[name] = COUNTS.has(name) ? pairedWhole(value) : value;
  for (const name of SHARES) {
    if (!(name in descriptors)) continue;
    const count = Math.round(descriptors[name]! * descriptors.characters!);
    out[name] = count ? pairedWhole(count) / out.characters! : 0;
  }
  if ("aspect" in descriptors) out.aspect = out.width! / out.height!;
  return out;
}

/** A numeric feature derived from an input's medium. */
interface DescriptorFeature {
  name: string;
  kind: "numeric";
  input: string;
  descriptor: string;
}

/**
 * The descriptor features of a manifest's inputs, in input order.
 *
 * @param inputs - the manifest's inputs
 */
function descriptorFeatures(inputs: readonly { name: string; media?: Media | undefined }[]): DescriptorFeature[] {
  return inputs.flatMap((input) =>
    input.media ? DESCRIPTORS[input.media.kind].map((descriptor) => ({ name: `${input.name}.${descriptor}`, kind: "numeric" as const, input: input.name, descriptor })) : [],
  );
}

/**
 * Every numeric feature a manifest derives from its tensors rather than lists: its media inputs'
 * descriptors, then the statistics of the tensors its `tensorStats` names (./tensor-stats.ts).
 *
 * @param manifest - the manifest's inputs and `tensorStats`
 */
export const derivedFeatures = (manifest: { inputs: readonly { name: string; media?: Media | undefined }[]; tensorStats?: readonly string[] | undefined }): { name: string; kind: "numeric" }[] => [
  ...descriptorFeatures(manifest.inputs),
  ...tensorStatFeatures(manifest.tensorStats),
];
