// Issue 17 item 2: `run(feeds)` reports statistics of a raw model's tensors. Silero VAD v5 is
// profiled from an NDJSON of feeds (`driftline profile --feeds --model`), published, and run by
// the real runtime (Node, given driftline/tensors as a bundling app imports it) with raw feeds against a local collector (wrangler dev), as 10 devices
// each from its own address: held-back frames of the same quiet room drift nothing, frames of a
// room ten times noisier drift `input.std`. Each call's mean, std, min, max and non-finite share
// of every input and output become features (protocol/preprocess/tensor-stats.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../protocol/api.ts";
import { resample } from "../../protocol/preprocess/audio.ts";
import { createRuntime } from "../../runtime/index.ts";
import tensors from "../../runtime/media/tensors.ts";
import type { Transport } from "../../runtime/types.ts";
import type { ProfileFile } from "../../cli/profiler.ts";
import { SILERO_VAD_V5 } from "../fixtures/media-models.ts";
import { voiceFrame } from "../fixtures/media-data.ts";
import { type LocalCollector, startLocalCollector } from "./local-collector.ts";

const ADMIN = "adm_tensor_stats_e2e";

/** One call's feeds for Silero VAD v5: a 48 kHz frame of `noise` RMS, resampled to 512 samples at 16 kHz, from a zero state. */
function feeds(seed: number, noise: number) {
  return {
    input: { type: "float32" as const, dims: [1, 512], data: Array.from(resample(voiceFrame(seed, noise), 48_000, 16_000)) },
    state: { type: "float32" as const, dims: [2, 1, 128], data: new Array<number>(256).fill(0) },
    sr: { type: "int64" as const, dims: [] as number[], data: [16_000] },
  };
}

/** `fetch` as if from `address` (the collector trims the heaviest sender's share of a verdict). */
const from = (address: string): Transport => ({
  fetch: (url, init) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), "cf-connecting-ip": address } }),
  beacon: () => false,
});

describe("statistics of run(feeds) tensors, profiled and judged", () => {
  let local: LocalCollector;
  beforeAll(async () => {
    local = await startLocalCollector(ADMIN, "driftline-tensors-");
  });
  afterAll(() => local?.stop());

  it("profiles a raw model's tensors from NDJSON feeds, and judges held-back and noisier frames by them", async () => {
    const { dir, cli, api } = local;
    // the NDJSON holds what the app passes to run(): plain numbers (the sample rate too)
    const lines = Array.from({ length: 300 }, (_, i) => {
      const f = feeds(i + 1, 0.003);
      return JSON.stringify({ input: { dims: f.input.dims, data: f.input.data }, state: { dims: f.state.dims, data: f.state.data }, sr: { dims: [], data: [16_000] } });
    });
    writeFileSync(join(dir, "feeds.ndjson"), `${lines.join("\n")}\n`);
    const said = await cli(["profile", "--feeds", join(dir, "feeds.ndjson"), "--model", SILERO_VAD_V5, "-o", join(dir, "profile.json")]);
    expect(said).toMatch(/300 feeds, statistics of 5 tensors, predictions sketched/);
    const profile = JSON.parse(readFileSync(join(dir, "profile.json"), "utf8")) as ProfileFile;
    expect(profile.tensorStats).toEqual(["input", "state", "sr", "output", "stateN"]);
    expect(Object.keys(profile.profile.features)).toHaveLength(25);
    for (const model of ["vad-raw", "vad-raw-noisy"]) await cli(["publish", SILERO_VAD_V5, "--model", model, "--profile", join(dir, "profile.json"), "--app", "raw"]);
    const { token } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "raw", role: "ingest" });
    const { token: read } = await api<{ token: string }>("POST", "/v1/keys", ADMIN, { app: "raw", role: "read" });

    for (const [model, noise, first] of [
      ["vad-raw", 0.003, 1001],
      ["vad-raw-noisy", 0.03, 2001],
    ] as const) {
      for (let device = 0; device < 10; device++) {
        const rt = await createRuntime({
          collector: local.url,
          key: token,
          model,
          client: `${model}-${device}`,
          backend: "wasm",
          cache: false,
          push: false,
          media: { tensors },
          reportIntervalMs: 3_600_000,
          transport: from(`198.51.100.${device + 1}`),
        });
        for (let i = 0; i < 20; i++) {
          const f = feeds(first + device * 20 + i, noise);
          await rt.run({ input: { ...f.input, data: Float32Array.from(f.input.data) }, state: { ...f.state, data: new Float32Array(256) }, sr: { ...f.sr, data: BigInt64Array.of(16_000n) } });
        }
        await rt.close();
      }
      await api("POST", `/v1/reports/flush?model=${model}&app=raw`, ADMIN);
    }
    const drift = async (model: string) => api<DriftAnswer>("GET", `/v1/drift?model=${model}&app=raw&from=0`, read);
    const held = await drift("vad-raw");
    expect(held.features["input.std"]!.count).toBe(200);
    expect(Object.keys(held.features).sort()).toEqual(Object.keys(profile.profile.features).sort());
    expect(Object.entries(held.features).filter(([, f]) => f.drifted)).toEqual([]);
    const noisy = await drift("vad-raw-noisy");
    console.log(
      `noisier room: drifted ${Object.entries(noisy.features)
        .filter(([, f]) => f.drifted)
        .map(([name, f]) => `${name} (PSI ${f.metrics.psi?.toFixed(2)})`)
        .join(", ")}`,
    );
    expect(noisy.features["input.std"]!.drifted).toBe(true);
  });
});
