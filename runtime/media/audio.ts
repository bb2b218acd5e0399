/**
 * `driftline/audio` (dist/driftline-audio.js): audio inputs. A mono clip at any sample rate is
 * resampled to the model's (protocol/preprocess/audio.ts, the code `driftline profile --audio`
 * runs), written into the model's frame (zero-padded; a clip longer than the frame is refused), and
 * described: level, zero crossings, clipped and silent shares, duration.
 *
 * @example
 * import audio from "driftline/audio";
 * const rt = await createRuntime({ collector, key, model: "vad", media: { audio } });
 * await rt.predict({ input: { samples, sampleRate: 48000 }, state, sr });
 */
import { DriftlineError } from "../../protocol/errors.ts";
import { type AudioSpec, audioDescriptors, modelClip } from "../../protocol/preprocess/audio.ts";
import { DESCRIPTORS } from "../../protocol/preprocess/descriptors.ts";
import { mediaPlan } from "./plan.ts";
import type { MediaModule } from "../types.ts";

/** The audio module: fills audio inputs and writes their descriptors. */
const audio: MediaModule["filler"] = (input) => {
  const spec = input.media as AudioSpec;
  return {
    descriptors: DESCRIPTORS.audio,
    async fill(values, buffer, describe) {
      values.forEach((value, r) => {
        const clip = value instanceof Float32Array ? { samples: value, sampleRate: spec.sampleRate } : (value as { samples?: unknown; sampleRate?: unknown } | undefined);
        const { samples, sampleRate } = clip ?? {};
        if (!(samples instanceof Float32Array) || !(typeof sampleRate === "number" && Number.isInteger(sampleRate) && sampleRate > 0)) {
          throw new DriftlineError("validation", `${input.name}: a clip is a Float32Array, or { samples: Float32Array, sampleRate } with an integer rate in Hz`);
        }
        const heard = modelClip(samples, sampleRate, spec, input.name);
        buffer.set(heard, r * spec.frameLength);
        describe(r, { ...audioDescriptors(heard, spec) });
      });
      return undefined;
    },
  };
};

export default { filler: audio, plan: mediaPlan } satisfies MediaModule;
