// `driftline publish` against a stand-in collector that takes any upload: what it refuses before
// uploading (one line, exit 1), and the manifest it registers from a profile and a model.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import wavefile from "wavefile";
import { build } from "esbuild";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { KeyView } from "../../../protocol/api.ts";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import { textModel } from "../../fixtures/media-models.ts";
import { buildConvClassifier, buildDenseClassifier, convClassifier, textClassifierReference } from "../../fixtures/onnx-models.ts";
import { tokenize } from "../../fixtures/tokenizer.ts";
import { projectRoot } from "../../../scripts/lib/root.mjs";
import { runCli } from "./run-cli.ts";

const root = projectRoot(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "driftline-publish-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `driftline publish` against a stand-in collector that takes every upload and registers
 * version 1, whose apps have the keys `keys` lists; `manifest` is what publish sent (none when it
 * refused first).
 */
async function publish(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; manifest: Manifest | undefined; app?: string | undefined }> {
  let manifest: Manifest | undefined;
  let app: string | undefined;
  const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async (url, init) => {
    const path = new URL(String(url)).pathname;
    if (init?.method === "POST" && path.endsWith("/versions")) {
      ({ manifest, app } = JSON.parse(String(init.body)) as { manifest: Manifest; app?: string });
      return Response.json({ version: 1, sha256: manifest.sha256 }, { status: 201 });
    }
    if (path === "/v1/keys") return Response.json({ keys: keys.filter((k) => k.app === new URL(String(url)).searchParams.get("app")) });
    // GET /v1/models/:model after the first version: the app the collector put it in
    if (!init?.method || init.method === "GET") return Response.json({ name: manifest?.model, app: app ?? "default" });
    // PUT /v1/artifacts/:sha256: the connection reset while `resets` lasts
    if (resets > 0) {
      resets--;
      throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
    }
    // as the collector answers it (collector/routes/artifacts.ts)
    return Response.json({ sha256: path.split("/").pop(), size: Number(new Headers(init?.headers).get("content-length")), created: true }, { status: 201 });
  });
  try {
    return { ...(await runCli("publish", ...argv, "--url", "http://collector.test", "--key", "adm_test")), manifest, app };
  } finally {
    fetch.mockRestore();
  }
}

/** Uploads the stand-in collector drops before it takes one. */
let resets = 0;

/** The stand-in collector's keys (as GET /v1/keys lists them). */
const keys: KeyView[] = [];

/** Writes `model` to the test folder and returns its path. */
function modelFile(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe("driftline publish into an app", () => {
  it("publishes into the app DRIFTLINE_APP names, as --app does and every other command reads it", async () => {
    const csv = join(dir, "counts.csv");
    writeFileSync(csv, "a,b,count\n1,2,3\n2,1,4\n3,3,6\n4,0,5\n");
    const model = modelFile("counts.onnx", buildDenseClassifier({ weights: [[1], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const profiled = await runCli("profile", csv, "--model", model, "--target", "count", "-o", join(dir, "counts.json"));
    expect(profiled.code, profiled.stderr).toBe(0);
    const args = [model, "--model", "counts", "--profile", join(dir, "counts.json")];
    const first = await publish(...args);
    expect(first.app).toBeUndefined();
    // the bootstrap key without --app: the collector's choice is named, with the key pages need
    expect(first.stdout).toMatch(/^counts is in app default: pages need an ingest key of that app \(driftline keys create --app default --role ingest\)$/m);
    // an app whose pages have an ingest key already (npm start's demo app) is told to use it
    keys.push({ id: "k1", app: "trial", role: "ingest", prefix: "ing_abc", label: "npm start", origins: null, createdAt: "2026-12-05T00:00:00.000Z", revokedAt: null });
    vi.stubEnv("DRIFTLINE_APP", "trial");
    try {
      expect(await publish(...args)).toMatchObject({
        code: 0,
        app: "trial",
        stdout: expect.stringMatching(/^counts is in app trial, which has 1 ingest key for its pages \(driftline keys list --app trial\)$/m),
      });
      expect(await publish(...args, "--app", "other")).toMatchObject({ code: 0, app: "other" });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("driftline publish over a connection the collector drops", () => {
  it("uploads again when the collector resets the upload, and gives up after three tries", async () => {
    const model = modelFile("reset.onnx", buildDenseClassifier({ weights: [[1], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const csv = join(dir, "reset.csv");
    writeFileSync(csv, "a,b\n1,2\n2,1\n3,3\n4,0\n");
    expect((await runCli("profile", csv, "-o", join(dir, "reset.json"))).code).toBe(0);
    const args = [model, "--model", "reset", "--profile", join(dir, "reset.json")];
    resets = 1;
    const again = await publish(...args);
    expect([again.code, again.manifest?.model]).toEqual([0, "reset"]);
    expect(again.stderr).toContain("the collector at http://collector.test does not answer (ECONNRESET): uploading again (2 of 3)");
    resets = 3;
    const lost = await publish(...args);
    expect([lost.code, lost.manifest, lost.stderr.trim().split("\n").at(-1)]).toEqual([1, undefined, "driftline publish: the collector at http://collector.test does not answer (ECONNRESET)"]);
    resets = 0;
  }, 20_000);
});

describe("driftline publish of a table's model", () => {
  it("says how to profile again when the profile's features do not make the model's columns", async () => {
    // the training CSV profiled without --model and without leaving its target out: 31 features for 30 columns
    const profiled = await runCli("profile", join(root, "test/fixtures/cancer/data/train.csv"), "-o", join(dir, "cancer-31.json"));
    expect(profiled.code, profiled.stderr).toBe(0);
    const result = await publish(join(root, "test/fixtures/cancer/model/cancer-v1.onnx"), "--model", "cancer", "--profile", join(dir, "cancer-31.json"));
    expect(result).toMatchObject({ code: 1, manifest: undefined });
    expect(result.stderr).toBe(
      `driftline publish: the model's input "features" has 30 columns but the profile's 31 features make 31 (encoding index): profile again with --exclude (the target, ids), --categorical or --encoding\n`,
    );
  });
});

describe("driftline publish of another model than the profile's", () => {
  it("refuses a model whose bytes are not those the profile's reference predictions came from, before uploading", async () => {
    const csv = join(dir, "pair.csv");
    writeFileSync(csv, "a,b\n1,2\n2,1\n3,3\n4,0\n");
    const profiled = modelFile("pair-v1.onnx", buildDenseClassifier({ weights: [[1], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const other = modelFile("pair-v2.onnx", buildDenseClassifier({ weights: [[2], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const made = await runCli("profile", csv, "--model", profiled, "-o", join(dir, "pair.json"));
    expect(made.code, made.stderr).toBe(0);
    const result = await publish(other, "--model", "pair", "--profile", join(dir, "pair.json"));
    expect(result).toMatchObject({ code: 1, manifest: undefined });
    expect(result.stderr).toMatch(
      /^driftline publish: .*pair\.json holds the reference predictions of another model \(sha256 [0-9a-f]{12}…\), not of .*pair-v2\.onnx \(sha256 [0-9a-f]{12}…\): profile again with --model .*pair-v2\.onnx\n$/,
    );
    expect(await publish(profiled, "--model", "pair", "--profile", join(dir, "pair.json"))).toMatchObject({ code: 0, manifest: { model: "pair" } });
  });

  it("refuses a profile whose sketch was edited, before uploading, with the collector's reason", async () => {
    const csv = join(dir, "edited.csv");
    writeFileSync(csv, "a,b\n1,2\n2,1\n3,3\n4,0\n");
    const model = modelFile("edited.onnx", buildDenseClassifier({ weights: [[1], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const file = join(dir, "edited.json");
    expect((await runCli("profile", csv, "--model", model, "-o", file)).code).toBe(0);
    const profile = JSON.parse(readFileSync(file, "utf8")) as { profile: { features: Record<string, { sketch: string }> } };
    profile.profile.features.a!.sketch = "AAAA";
    writeFileSync(file, JSON.stringify(profile));
    const result = await publish(model, "--model", "edited", "--profile", file);
    expect(result).toMatchObject({ code: 1, manifest: undefined });
    expect(result.stderr).toMatch(/^driftline publish: the profile and model do not make a valid manifest: manifest\.profile\.features\.a: .+ \(profile again rather than edit the sketches\)\n$/);
    // nothing uploaded: the progress line of an upload is not there
    expect(result.stderr).not.toMatch(/uploaded/);
  });

  it("refuses --labels other than those the profile's outputs have, rather than leaving them out", async () => {
    const csv = join(dir, "labelled.csv");
    writeFileSync(csv, "a,b\n1,2\n2,1\n3,3\n4,0\n");
    const model = modelFile(
      "labelled.onnx",
      buildDenseClassifier({
        weights: [
          [1, -1],
          [0.5, 0.5],
        ],
        bias: [0, 0],
      }),
    );
    expect((await runCli("profile", csv, "--model", model, "--labels", "no,yes", "-o", join(dir, "labelled.json"))).code).toBe(0);
    const args = [model, "--model", "labelled", "--profile", join(dir, "labelled.json")];
    expect(await publish(...args, "--labels", "yes,no")).toMatchObject({
      code: 2,
      manifest: undefined,
      stderr: "driftline publish: --labels yes,no: the profile's outputs have the labels no,yes; profile again with --model and --labels to change them\n(driftline publish --help shows its usage)\n",
    });
    expect(await publish(...args, "--labels", "no,yes")).toMatchObject({ code: 0, manifest: { outputs: [{ labels: ["no", "yes"] }] } });
  });
});

describe("driftline publish of an image or audio model", () => {
  const images = join(dir, "images");
  mkdirSync(images);
  for (const [i, shade] of [40, 120, 200].entries()) {
    const png = new PNG({ width: 40, height: 30 });
    png.data.fill(shade);
    writeFileSync(join(images, `img-${i}.png`), PNG.sync.write(png));
  }
  const clips = join(dir, "clips");
  mkdirSync(clips);
  const wav = new wavefile.WaveFile();
  wav.fromScratch(
    1,
    16_000,
    "32f",
    Float32Array.from({ length: 4000 }, (_, n) => 0.3 * Math.sin(n / 7)),
  );
  writeFileSync(join(clips, "clip.wav"), wav.toBuffer());

  /** A profile of the images (or, with `audio`, the clips, for input `input`: default "frame") preprocessed as `media` says. */
  async function profile(name: string, media: object, audio = false, input = "frame"): Promise<string> {
    const out = join(dir, `${name}.json`);
    const data = audio ? ["--audio", clips, "--input", input] : ["--images", images];
    const result = await runCli("profile", ...data, "--media", JSON.stringify(media), "-o", out);
    expect(result.stderr).toBe("");
    return out;
  }
  const image = { layout: "NCHW", channels: "RGB", fit: "stretch", filter: "bilinear" };
  const net = convClassifier();

  it("refuses an image size or layout the model's fixed dimensions do not take, before uploading", async () => {
    const model = modelFile("conv-32.onnx", buildConvClassifier(net, 32, 32));
    const large = await publish(model, "--model", "pets", "--profile", await profile("large", { ...image, height: 64, width: 64 }));
    expect(large).toMatchObject({ code: 1, stdout: "", manifest: undefined });
    expect(large.stderr).toBe(
      `driftline publish: the profile's image makes [batch, 3, 64, 64] but the model's input "image" is [batch, 3, 32, 32]: profile again with the model's layout, height and width in --media\n`,
    );
    const nhwc = await publish(model, "--model", "pets", "--profile", await profile("nhwc", { ...image, layout: "NHWC", height: 32, width: 32 }));
    expect(nhwc).toMatchObject({ code: 1, manifest: undefined });
    expect(nhwc.stderr).toContain("the profile's image makes [batch, 32, 32, 3] but the model's input \"image\" is [batch, 3, 32, 32]");

    const fits = await publish(model, "--model", "pets", "--profile", await profile("fits", { ...image, height: 32, width: 32 }));
    expect(fits.code, fits.stderr).toBe(0);
    expect(fits.manifest!.inputs).toEqual([{ name: "image", dtype: "float32", shape: ["batch", 3, 32, 32], media: { kind: "image", ...image, height: 32, width: 32 } }]);
  });

  it("says which --input to profile again with when the profile names another input than the model's", async () => {
    const frames = modelFile("frames-x.onnx", buildDenseClassifier({ weights: Array.from({ length: 512 }, () => [0.01, -0.01]), bias: [0, 0], inputName: "x" }));
    const renamed = await publish(frames, "--model", "vad", "--profile", await profile("frame-input", { sampleRate: 16_000, frameLength: 512 }, true));
    expect(renamed).toMatchObject({ code: 1, manifest: undefined });
    expect(renamed.stderr).toBe(`driftline publish: the profile's audio feeds input "frame" but the model's inputs are "x": profile again with --input x\n`);
  });

  it("says a table's profile may not be the model's when no input of the model takes rows of features", async () => {
    // the cancer table's profile (30 features, input "features") for an image model
    const profiled = await runCli("profile", join(root, "test/fixtures/cancer/data/train.csv"), "--exclude", "diagnosis", "-o", join(dir, "cancer-30.json"));
    expect(profiled.stderr).toBe("");
    const conv = modelFile("conv-table.onnx", buildConvClassifier(net, 32, 32));
    const result = await publish(conv, "--model", "pets", "--profile", join(dir, "cancer-30.json"));
    expect([result.code, result.manifest, result.stderr]).toEqual([
      1,
      undefined,
      `driftline publish: the profile's features feed input "features" but no input of the model takes the features' [batch, 30] (inputs: "image" [batch, 3, 32, 32]): is the profile this model's?\n`,
    ]);
  });

  it("says the profile may not be the model's when no input of the model can take its medium, never to profile it again for one", async () => {
    // an image profile for a model of two features, an audio profile for an image model
    const dense = modelFile("dense-x2.onnx", buildDenseClassifier({ weights: [[1, -1]], bias: [0, 0], inputName: "x" }));
    const images = await publish(dense, "--model", "lines", "--profile", await profile("unnamed", { ...image, height: 32, width: 32 }));
    const conv = modelFile("conv-image.onnx", buildConvClassifier(net, 32, 32));
    const clips = await publish(conv, "--model", "pets", "--profile", await profile("clips", { sampleRate: 16_000, frameLength: 512 }, true));
    const named = await publish(conv, "--model", "pets", "--profile", await profile("clips-named", { sampleRate: 16_000, frameLength: 512 }, true, "image"));
    expect([images, clips, named].map((r) => [r.code, r.manifest, r.stderr])).toEqual([
      [
        1,
        undefined,
        `driftline publish: the profile's image feeds input "image" but no input of the model takes an image's [batch, 3, 32, 32] (inputs: "x" [batch, 1]): is the profile this model's?\n`,
      ],
      [
        1,
        undefined,
        `driftline publish: the profile's audio feeds input "frame" but no input of the model takes audio's [batch, 512] (inputs: "image" [batch, 3, 32, 32]): is the profile this model's?\n`,
      ],
      [
        1,
        undefined,
        `driftline publish: the profile's audio makes [batch, 512] but the model's input "image" is [batch, 3, 32, 32]: no audio fits an input of 4 dimensions; is the profile this model's?\n`,
      ],
    ]);
  });

  it("takes any size where the model's dimensions are named", async () => {
    const model = modelFile("conv-any.onnx", buildConvClassifier(net, "height", "width"));
    const result = await publish(model, "--model", "pets", "--profile", await profile("large", { ...image, height: 64, width: 64 }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.manifest!.inputs[0]!.shape).toEqual(["batch", 3, "height", "width"]);
  });

  it("refuses audio frames of another length than the model's", async () => {
    const model = modelFile("frames-512.onnx", buildDenseClassifier({ weights: Array.from({ length: 512 }, () => [0.01, -0.01]), bias: [0, 0], inputName: "frame" }));
    const long = await publish(model, "--model", "vad", "--profile", await profile("long-frames", { sampleRate: 16_000, frameLength: 1024 }, true));
    expect(long).toMatchObject({ code: 1, manifest: undefined });
    expect(long.stderr).toBe(`driftline publish: the profile's audio makes [batch, 1024] but the model's input "frame" is [batch, 512]: profile again with the model's frameLength in --media\n`);
    const fits = await publish(model, "--model", "vad", "--profile", await profile("frames", { sampleRate: 16_000, frameLength: 512 }, true));
    expect(fits.code, fits.stderr).toBe(0);
  });
});

describe("driftline publish of an embedding model", () => {
  const texts = ["a good movie", "awful plot", "the actor was fine", "great great great", "bad bad movie", "a plot", "the movie"];
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, `${texts.join("\n")}\n`);
  // the reference embeddings: the encoder's own, 8 values each
  const embeddings = join(dir, "corpus-embeddings.ndjson");
  const encoder = textModel("encoder", true);
  const classifier = textModel("sentiment");
  writeFileSync(embeddings, `${texts.map((t) => JSON.stringify(textClassifierReference(encoder.classifier, tokenize([t]).ids[0]!).embedding)).join("\n")}\n`);

  /** docs/models.md's profile of an embedding model: the texts' descriptors and the reference embeddings (of output `embedding`). */
  async function profile(name: string, reference = embeddings, output = "embedding"): Promise<string> {
    const out = join(dir, `${name}.json`);
    const result = await runCli("profile", "--text", corpus, "--media", '{"kind":"text"}', "--embeddings", reference, "--embedding-output", output, "--input", "input_ids", "-o", out);
    expect(result.stderr).toBe("");
    return out;
  }

  it("lists the output the profile names as the embedding as kind embedding, never as class probabilities", async () => {
    const result = await publish(modelFile("encoder.onnx", encoder.bytes), "--model", "encoder", "--profile", await profile("encoder"));
    expect(result.code, result.stderr).toBe(0);
    expect(result.manifest!.outputs).toEqual([{ name: "embedding", kind: "embedding" }]);
    expect(result.manifest!.embedding).toMatchObject({ output: "embedding", length: 8 });
    // beside a classifier's output, which keeps its labels
    const both = await publish(modelFile("sentiment.onnx", classifier.bytes), "--model", "sentiment", "--profile", await profile("sentiment"), "--labels", "negative,positive");
    expect(both.code, both.stderr).toBe(0);
    expect(both.manifest!.outputs).toEqual([
      { name: "probabilities", kind: "probabilities", labels: ["negative", "positive"] },
      { name: "embedding", kind: "embedding" },
    ]);
  });

  it("refuses reference embeddings of another length than the model's embedding output, at publish and at profile with --model", async () => {
    const model = modelFile("encoder.onnx", encoder.bytes);
    const wide = join(dir, "wide-embeddings.ndjson");
    writeFileSync(wide, `${texts.map((_, i) => JSON.stringify(Array.from({ length: 16 }, (_, k) => Math.sin(i + k)))).join("\n")}\n`);
    const refused = await publish(model, "--model", "encoder", "--profile", await profile("wide", wide));
    expect(refused).toMatchObject({ code: 1, stdout: "", manifest: undefined });
    expect(refused.stderr).toBe(`driftline publish: the reference embeddings have 16 values but the model's output "embedding" [batch, 8] has 8 a row\n`);
    const elsewhere = await publish(model, "--model", "encoder", "--profile", await profile("elsewhere", embeddings, "vector"));
    expect(elsewhere).toMatchObject({ code: 1, stderr: `driftline publish: the profile's embedding is output "vector" but the model's outputs are "embedding"\n`, manifest: undefined });

    // the app's tokenizer, bundled as the page ships it: profile runs the model on the texts
    const tokenizer = join(dir, "tokenizer.mjs");
    await build({
      stdin: { contents: `export { tokenize as default } from "./tokenizer.ts";`, resolveDir: join(root, "test/fixtures"), loader: "ts" },
      bundle: true,
      format: "esm",
      outfile: tokenizer,
      logLevel: "error",
    });
    const early = await runCli(
      "profile",
      "--text",
      corpus,
      "--media",
      '{"kind":"text"}',
      "--model",
      model,
      "--encoder",
      tokenizer,
      "--embeddings",
      wide,
      "--embedding-output",
      "embedding",
      "-o",
      join(dir, "early.json"),
    );
    expect(early).toEqual({ code: 1, stdout: "", stderr: `driftline profile: the reference embeddings have 16 values but the model's output "embedding" [batch, 8] has 8 a row\n` });
  });
});
