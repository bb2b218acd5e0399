/**
 * `driftline/tensors` (dist/driftline-tensors.js): the statistics of raw tensors a manifest's
 * `tensorStats` names (protocol/preprocess/tensor-stats.ts, the code `driftline profile --feeds`
 * runs), taken of every `run(feeds)` call.
 *
 * @example
 * import tensors from "driftline/tensors";
 * const rt = await createRuntime({ collector, key, model: "vad", media: { tensors } });
 */
import { describeTensors, tensorStatFeatures } from "../../protocol/preprocess/tensor-stats.ts";
import type { TensorsModule } from "../types.ts";

/** The tensors module: the features of the named tensors' statistics, and how one call gives their values. */
const tensors: TensorsModule = (names) => ({
  features: tensorStatFeatures(names).map((f) => f.name),
  describe: (call) => describeTensors(names, call),
});

export default tensors;
