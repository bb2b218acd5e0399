/**
 * `driftline/embedding` (dist/driftline-embedding.js): the seeded projection and random Fourier
 * features of a manifest's embedding (protocol/embedding.ts, the code `driftline profile
 * --embeddings` runs), so every device summarises embeddings as the reference was.
 *
 * @example
 * import embedding from "driftline/embedding";
 * const rt = await createRuntime({ collector, key, model: "encoder", media: { embedding } });
 */
import { EmbeddingProjector } from "../../protocol/embedding.ts";
import type { EmbeddingModule } from "../types.ts";

/** The embedding module: the projection of a manifest's embedding settings. */
const embedding: EmbeddingModule = (config) => new EmbeddingProjector(config);

export default embedding;
