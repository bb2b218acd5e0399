// Issue 13 item 5: the CLI's profiler and the runtime encode rows with the same code. A model that
// takes missing values itself (NaN in its second column becomes 3, as gradient-boosted trees
// route missing values their own way) is profiled with that column nullable and 10 % of it
// missing; the real runtime (Node) then predicts the very same rows against a local collector
// (wrangler dev). Both fed the model the same values, so the prediction shows no drift. Before,
// the profiler imputed the median where the runtime fed NaN: the reference predictions differed
// from live ones with no change in the data.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../protocol/api.ts";
import { createRuntime } from "../../runtime/index.ts";
import { type DenseClassifier, buildDenseClassifier } from "../fixtures/onnx-models.ts";
import { type LocalCollector, startLocalCollector } from "./local-collector.ts";

const ADMIN = "adm_one_encoder_e2e";

/** Three columns; the second counts strongly and is missing in every tenth row. */
const MODEL: DenseClassifier = {
  weights: [
    [0.5, -0.5],
    [1.5, -1.5],
    [-0.3, 0.3],
  ],
  bias: [0, 0],
  missingAs: [0, 3, 0],
};
const ROWS = Array.from({ length: 1_000 }, (_, i) => ({
  a: ((i * 37) % 100) / 25 - 2,
  b: i % 10 === 3 ? null : ((i * 53) % 100) / 50 - 1,
  c: ((i * 71) % 100) / 20,
}));

describe("one encoder for the profiler and the runtime", () => {
  let local: LocalCollector;
  beforeAll(async () => {
    local = await startLocalCollector(ADMIN, "driftline-encoder-");
  });
  afterAll(() => local?.stop());

  it("gives no prediction drift when live rows are the reference rows, missing values included", async () => {
    const { dir, cli, api } = local;
    writeFileSync(join(dir, "model.onnx"), buildDenseClassifier(MODEL));
    writeFileSync(join(dir, "train.csv"), `${["a,b,c", ...ROWS.map((r) => [r.a, r.b ?? "", r.c].join(","))].join("\n")}\n`);
    await cli(["profile", join(dir, "train.csv"), "--nullable", "b", "--model", join(dir, "model.onnx"), "--labels", "no,yes", "-o", join(dir, "profile.json")]);
    await cli(["publish", join(dir, "model.onnx"), "--model", "encoder", "--profile", join(dir, "profile.json"), "--app", "enc"]);
    const { token } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "enc", role: "ingest" });
    const { token: read } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "enc", role: "read" });

    const rt = await createRuntime({ collector: local.url, key: token, model: "encoder", client: "encoder-client", backend: "wasm", reportIntervalMs: 3_600_000 });
    const live = await rt.predict(ROWS);
    await rt.flush();
    await rt.close();
    expect(live).toHaveLength(ROWS.length);
    await api("POST", "/v1/reports/flush?model=encoder&app=enc", ADMIN);

    const drift = await api<DriftAnswer>("GET", "/v1/drift?model=encoder&app=enc&from=0", read);
    expect(drift.prediction!.count).toBe(ROWS.length);
    expect(drift.prediction!.drifted).toBe(false);
    // the same rows through the same encoder: the score distributions agree (KS of sketches ~ 0)
    expect(drift.prediction!.metrics.ks).toBeLessThan(0.02);
    expect(drift.features.b!.drifted).toBe(false);
  });
});
