/**
 * How the calls of one model version fill their non-tabular inputs: each media input through its
 * medium's filler, each plain tensor input from what the app passed (a `validation` error when it
 * passed none). Every media module carries
 * this code (runtime/media.ts uses the first module's), so tabular apps ship none of it.
 */
import { DriftlineError } from "../../protocol/errors.ts";
import { recordedDescriptors } from "../../protocol/preprocess/descriptors.ts";
import { asTensor } from "../tensors.ts";
import type { Feeds, MediaBuffer, MediaFiller, MediaManifest, MediaPlan } from "../types.ts";

/**
 * The media plan of a manifest.
 *
 * @param manifest - the version's manifest
 * @param fillers - one per media input, in manifest order
 */
export function mediaPlan(manifest: MediaManifest, fillers: MediaFiller[]): MediaPlan {
  const media = manifest.inputs.filter((i) => i.media);
  // where each media input's buffer is among the call's
  const slots = media.map((i) => manifest.inputs.indexOf(i));
  const tabular = new Set(manifest.features.map((f) => f.input));
  const plain = manifest.inputs.filter((i) => !i.media && !tabular.has(i.name)).map((i) => i.name);
  return {
    features: media.flatMap((input, k) => fillers[k]!.descriptors.map((d) => `${input.name}.${d}`)),
    async fill(ort, rows, enc, width) {
      const n = rows.length;
      const own: Feeds = {};
      for (let k = 0, d = width; k < media.length; d += fillers[k]!.descriptors.length, k++) {
        const { name } = media[k]!;
        const at = enc.base + d * n;
        const buffer = enc.data[slots[k]!] as MediaBuffer;
        const { descriptors } = fillers[k]!;
        const describe = (r: number, values: Record<string, number>) => {
          const recorded = recordedDescriptors(values);
          descriptors.forEach((descriptor, i) => (enc.staged[at + i * n + r] = recorded[descriptor]!));
        };
        Object.assign(
          own,
          await fillers[k]!.fill(
            rows.map((r) => r[name]),
            buffer,
            describe,
          ),
        );
      }
      // what the fillers did not feed (a text encoder feeds its model's other inputs) the app passes
      for (const name of plain) {
        if (name in own) continue;
        const t = rows[0]?.[name];
        // else onnxruntime would refuse the manifest-shaped buffer in words about its dimensions
        if (!t || typeof t !== "object") throw new DriftlineError("validation", `${name}: the model's input the app passes as a tensor ({ type, data, dims } or an ORT tensor): none given`);
        own[name] = t as Feeds[string];
      }
      for (const name in own) enc.feeds[name] = asTensor(ort, own[name]!);
    },
  };
}
