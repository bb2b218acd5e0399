/**
 * `driftline/text` (dist/driftline-text.js): text inputs. Tokenizers live in the app: its
 * `encodeText` hook turns a call's texts into the model's feeds; this module describes each text
 * (characters, words, non-ASCII and digit shares; protocol/preprocess/text.ts) and records the
 * unknown-token share the hook reports. A hook that throws, or answers no tensor for the text input,
 * fails the call with a `validation` error (its feeds are checked by the plan).
 *
 * @example
 * import text from "driftline/text";
 * const rt = await createRuntime({ collector, key, model: "sentiment", media: { text }, encodeText: (texts) => tokenize(texts) });
 * const { label } = await rt.predict({ input_ids: "a review" });
 */
import { DriftlineError } from "../../protocol/errors.ts";
import { DESCRIPTORS } from "../../protocol/preprocess/descriptors.ts";
import { textDescriptors, unknownShareProblem } from "../../protocol/preprocess/text.ts";
import { mediaPlan } from "./plan.ts";
import type { MediaModule } from "../types.ts";

/** The text module: has the app's encoder feed the model and writes the texts' descriptors. */
const text: MediaModule["filler"] = (input, encodeText) => {
  return {
    descriptors: DESCRIPTORS.text,
    async fill(values, _buffer, describe) {
      if (!encodeText) throw new DriftlineError("unsupported", `${input.name} takes text: pass createRuntime({ encodeText })`);
      const texts = values.map((v) => {
        if (typeof v !== "string") throw new DriftlineError("validation", `${input.name}: a text input takes a string`);
        return v;
      });
      let encoded: Awaited<ReturnType<typeof encodeText>> | undefined;
      try {
        // a copy: a hook may take its chunks off the array (texts.splice) or sort it, and the texts are described after
        encoded = await encodeText(texts.slice(), input.name);
      } catch (err) {
        throw new DriftlineError("validation", `${input.name}: encodeText failed: ${(err as Error)?.message ?? err}`, err);
      }
      const { feeds, unknownTokens } = encoded ?? {};
      // else the model would run on the zeros of the input's own buffer
      if (!feeds?.[input.name])
        throw new DriftlineError("validation", `${input.name}: encodeText answered no feeds.${input.name} (it answers { feeds: { ${input.name}: tensor, … }, unknownTokens? })`);
      texts.forEach((t, r) => {
        const share = unknownTokens?.[r] ?? NaN;
        const problem = unknownShareProblem(share, `encodeText's unknownTokens[${r}]`);
        if (problem) throw new DriftlineError("validation", `${input.name}: ${problem}`);
        describe(r, { ...textDescriptors(t), unknownTokens: share });
      });
      return feeds;
    },
  };
};

export default { filler: text, plan: mediaPlan } satisfies MediaModule;
