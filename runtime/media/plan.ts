/**
 * How the calls of one model version fill their non-tabular inputs: each media input through its
 * medium's filler, each plain tensor input from what the app passed (a `validation` error when it
 * passed none). Every media module carries
 * this code (runtime/media.ts uses the first module's), so tabular apps ship none of it.
 */
import { DriftlineError } from "../../protocol/errors.ts";
import { recordedDescriptors } from "../../protocol/preprocess/descriptors.ts";
import { asTensor } from "../tensors.ts";
import type { Feeds, MediaBuffer, MediaFiller, MediaInput, MediaManifest, MediaPlan } from "../types.ts";

/**
 * Why a feed is no tensor of `input` as the manifest says (its dtype, its rank — unless its shape is
 * empty: unknown — and fixed dimensions), or undefined when it is one: onnxruntime would refuse it as the model's session
 * error. A filler's feed (a text encoder's) must also hold the call's `n` rows, first, in as many
 * values as its dims say — else a batch of another size would run.
 */
function misfit(feed: Feeds[string], input: MediaInput | undefined, n?: number): string | undefined {
  // not `data` yet: an ORT tensor on the GPU throws when it is read
  const { type, dims } = feed as { type?: unknown; dims?: unknown };
  if (!input) return "no such model input";
  if (type !== input.dtype) return `a ${type} tensor; the model takes ${input.dtype}`;
  const shape = input.shape;
  const fits = (d: unknown, k: number) => Number.isInteger(d) && (d as number) >= 0 && !(shape && typeof shape[k] === "number" && shape[k] > 0 && d !== shape[k]);
  // an empty shape leaves the rank unknown (cli/onnx-model.ts shapeTakes): any rank fits
  if (!(Array.isArray(dims) && (!shape?.length || dims.length === shape.length) && dims.every(fits))) return `dims [${dims}]; the model takes [${shape}]`;
  if (n === undefined) return undefined;
  if (dims[0] !== n) return `dims [${dims}] for ${n} rows`;
  const size = dims.reduce((a: number, b: number) => a * b, 1);
  const length = (feed as { data?: ArrayLike<unknown> }).data?.length;
  return length === size ? undefined : `${length} values for dims [${dims}]`;
}

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
            // a row that is no object (null) has no value: the filler refuses it
            rows.map((r) => r?.[name]),
            buffer,
            describe,
          ),
        );
      }
      const inputOf = (name: string) => manifest.inputs.find((i) => i.name === name);
      for (const name in own) {
        const why = misfit(own[name]!, inputOf(name), n);
        if (why) throw new DriftlineError("validation", `${name}: encodeText fed ${why}`);
      }
      // what the fillers did not feed (a text encoder feeds its model's other inputs) the app passes
      for (const name of plain) {
        if (name in own) continue;
        const t = rows[0]?.[name];
        // else onnxruntime would refuse the manifest-shaped buffer in words about its dimensions
        if (!t || typeof t !== "object") throw new DriftlineError("validation", `${name}: the model's input the app passes as a tensor ({ type, data, dims } or an ORT tensor): none given`);
        const why = misfit(t as Feeds[string], inputOf(name));
        if (why) throw new DriftlineError("validation", `${name}: ${why}`);
        own[name] = t as Feeds[string];
      }
      for (const name in own) {
        try {
          enc.feeds[name] = asTensor(ort, own[name]!);
        } catch (err) {
          // data of another type than the tensor's, dims it does not fill: the app's tensor, not the model, is wrong
          throw new DriftlineError("validation", `${name}: ${(err as Error).message}`, err);
        }
      }
    },
  };
}
