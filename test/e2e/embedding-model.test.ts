// docs/models.md's embedding model end to end: `driftline profile --text … --embeddings …
// --embedding-output embedding`, `driftline publish` without --labels, and the runtime (Node, with
// driftline/text and driftline/embedding as a bundling app imports them) predicting against a
// local collector (wrangler dev): each prediction carries the embedding and no class or score read
// off it, and the report's embeddings reach /v1/drift with no error counted.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftAnswer, StatsAnswer } from "../../protocol/api.ts";
import { createRuntime } from "../../runtime/index.ts";
import embedding from "../../runtime/media/embedding.ts";
import text from "../../runtime/media/text.ts";
import { textModel } from "../fixtures/media-models.ts";
import { textClassifierReference } from "../fixtures/onnx-models.ts";
import { tokenize } from "../fixtures/tokenizer.ts";
import { type LocalCollector, startLocalCollector } from "./local-collector.ts";

const ADMIN = "adm_embedding_model_e2e";

describe("an embedding model, profiled and published as docs/models.md says", () => {
  let local: LocalCollector;
  beforeAll(async () => {
    local = await startLocalCollector(ADMIN, "driftline-embedding-model-");
  });
  afterAll(() => local?.stop());

  it("answers predict() with the embedding and no class or score, and reports the embeddings", async () => {
    const { dir, cli, api } = local;
    const { bytes, classifier } = textModel("encoder", true);
    writeFileSync(join(dir, "encoder.onnx"), bytes);
    const corpus = ["a good movie", "awful plot", "the actor was fine", "great great great", "bad bad movie", "a plot", "the movie", "good actor"];
    writeFileSync(join(dir, "corpus.txt"), `${corpus.join("\n")}\n`);
    const embed = (t: string) => textClassifierReference(classifier, tokenize([t]).ids[0]!).embedding;
    writeFileSync(join(dir, "corpus-embeddings.ndjson"), `${corpus.map((t) => JSON.stringify(embed(t))).join("\n")}\n`);
    const profile = join(dir, "profile.json");
    await cli([
      "profile",
      "--text",
      join(dir, "corpus.txt"),
      "--media",
      '{"kind":"text"}',
      "--embeddings",
      join(dir, "corpus-embeddings.ndjson"),
      "--embedding-output",
      "embedding",
      "--input",
      "input_ids",
      "-o",
      profile,
    ]);
    expect(await cli(["publish", join(dir, "encoder.onnx"), "--model", "encoder", "--profile", profile, "--app", "texts"])).toMatch(/^encoder version 1 /);
    const { token } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "texts", role: "ingest" });
    const { token: read } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "texts", role: "read" });

    const rt = await createRuntime({
      collector: local.url,
      key: token,
      model: "encoder",
      backend: "wasm",
      cache: false,
      push: false,
      media: { text, embedding },
      encodeText: tokenize,
      reportIntervalMs: 3_600_000,
    });
    const texts = ["a fine movie", "awful actor", "good plot", "the bad movie"];
    for (const t of texts) {
      const p = await rt.predict({ input_ids: t });
      expect([p.label, p.score], t).toEqual([undefined, undefined]);
      Array.from(p.outputs.embedding as Float32Array).forEach((x, k) => expect(x).toBeCloseTo(embed(t)[k]!, 5));
    }
    await rt.close();
    await api("POST", "/v1/reports/flush?model=encoder&app=texts", ADMIN);
    const stats = await api<StatsAnswer>("GET", "/v1/stats?model=encoder&app=texts&from=0", read);
    expect([stats.rows, stats.errors]).toEqual([texts.length, {}]);
    const drift = await api<DriftAnswer>("GET", "/v1/drift?model=encoder&app=texts&from=0", read);
    expect(drift.embedding?.count).toBe(texts.length);
  });
});
