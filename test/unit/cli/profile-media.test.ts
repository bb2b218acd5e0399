// `driftline profile --images | --audio | --text`: real PNG, JPEG and WAV files written with the
// maintained encoders, decoded and preprocessed as the runtime will, descriptors sketched, and an
// image model (a conv net built in code), an audio model and a text model (through the app's
// encoder module) run on every item as the runtime feeds it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import wavefile from "wavefile";
import { afterAll, describe, expect, it, vi } from "vitest";
import { profileEmbeddings } from "../../../cli/embedding-profile.ts";
import type { ProfileFile } from "../../../cli/profiler.ts";
import { type ImageSpec, preprocessImage } from "../../../protocol/preprocess/image.ts";
import { decodeClassification, decodeEmbedding, decodeNumeric, fromBase64, quantile } from "../../../protocol/sketch/index.ts";
import { buildConvClassifier, buildDenseClassifier, convClassifier, convClassifierReference, denseClassifierReference, textClassifierReference } from "../../fixtures/onnx-models.ts";
import { SILERO_VAD_V5, textModel } from "../../fixtures/media-models.ts";
import { tokenize } from "../../fixtures/tokenizer.ts";
import { resample } from "../../../protocol/preprocess/audio.ts";
import { build } from "esbuild";
import { projectRoot } from "../../../scripts/lib/root.mjs";
import { runCli } from "./run-cli.ts";
import { createRuntime } from "../../../runtime/index.ts";
import audioModule from "../../../runtime/media/audio.ts";
import textModule from "../../../runtime/media/text.ts";
import type { EncodeText, Row } from "../../../runtime/types.ts";
import type { ClientManifest } from "../../../protocol/schema/manifest.ts";
import { memoryCollector } from "../../fixtures/memory-collector.ts";
import { sha256 } from "../../fixtures/runtime-models.ts";

const root = projectRoot(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "driftline-media-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An RGBA image of one colour with a darker square in it (so it has edges), width × height. */
function picture(width: number, height: number, [r, g, b]: number[]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x > width / 4 && x < width / 2 && y > height / 4 && y < height / 2;
      data.set(inside ? [r! / 2, g! / 2, b! / 2, 255] : [r!, g!, b!, 255], (y * width + x) * 4);
    }
  }
  return data;
}

const COLOURS = [
  [200, 40, 40],
  [40, 200, 40],
  [40, 40, 200],
  [220, 220, 220],
  [90, 90, 90],
  [250, 180, 20],
];
const images = join(dir, "images");
mkdirSync(images);
const made = COLOURS.map((colour, i) => {
  const [width, height] = i % 2 ? [40, 30] : [24, 36];
  const data = picture(width, height, colour);
  const png = new PNG({ width, height });
  png.data.set(data);
  writeFileSync(join(images, `img-${i}.png`), PNG.sync.write(png));
  return { data, width, height };
});
// a JPEG too: decoded by jpeg-js (lossy, so not part of the exact checks below)
writeFileSync(join(images, "photo.jpg"), jpeg.encode({ data: Buffer.from(picture(32, 32, [120, 60, 30])), width: 32, height: 32 }, 95).data);

const SPEC = { height: 16, width: 16, layout: "NCHW", channels: "RGB", fit: "cover", filter: "bilinear", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } as const;
const net = convClassifier();
const modelPath = join(dir, "conv.onnx");
writeFileSync(modelPath, buildConvClassifier(net, 16, 16));

const median = (sketch: string) => quantile(decodeNumeric(fromBase64(sketch)).quantiles, 0.5);

/**
 * The feature sketches the runtime reports (runtime/media/, under Node) when the app predicts each
 * of `calls`, one call each: what a profile of the same items must equal.
 */
async function liveFeatures(bytes: Uint8Array, manifest: ClientManifest, calls: Row[], encodeText?: EncodeText): Promise<Record<string, string>> {
  const { transport, reports } = memoryCollector(bytes, manifest);
  const media = { audio: audioModule, text: textModule };
  const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", cache: false, push: false, deviceClass: false, media, model: manifest.model, transport, encodeText });
  for (const call of calls) await rt.predict(call);
  await rt.close();
  expect(reports).toHaveLength(1);
  return reports[0]!.features;
}

/**
 * An `--encoder` module: `source` (TypeScript beside test/fixtures/tokenizer.ts, the page's
 * tokenizer) bundled as the app would ship it.
 */
async function encoderModule(name: string, source: string): Promise<string> {
  const outfile = join(dir, name);
  await build({ stdin: { contents: source, resolveDir: join(root, "test/fixtures"), loader: "ts" }, bundle: true, format: "esm", outfile, logLevel: "error" });
  return outfile;
}

/** A numeric sketch's count and range, to compare in a readable failure. */
const summary = (sketch: string) => {
  const s = decodeNumeric(fromBase64(sketch));
  return { count: s.count, nonFinite: s.nonFinite, min: s.quantiles.min, max: s.quantiles.max };
};

describe("driftline profile --images", () => {
  it("sketches the descriptors of every image and the conv net's prediction of each", async () => {
    const out = join(dir, "images.json");
    const result = await runCli("profile", "--images", images, "--media", JSON.stringify(SPEC), "--model", modelPath, "--labels", "a,b,c", "-o", out);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/images\.json: 7 images, 7 descriptors, predictions sketched/);
    const file = JSON.parse(readFileSync(out, "utf8")) as ProfileFile;
    expect(file).toMatchObject({ input: "image", media: { kind: "image", ...SPEC }, features: [] });
    expect(Object.keys(file.profile.features)).toEqual(["brightness", "contrast", "saturation", "sharpness", "width", "height", "aspect"].map((d) => `image.${d}`));
    for (const f of Object.values(file.profile.features)) expect(decodeNumeric(fromBase64(f.sketch)).count).toBe(7);
    // sizes exactly, within the privacy grid's blur (~0.1 %)
    expect(median(file.profile.features["image.width"]!.sketch)).toBeCloseTo(32, 0);
    // predictions: each image's class as the plain-JS conv net gives it on the same preprocessing
    const spec: ImageSpec = { ...SPEC, dtype: "float32" };
    const photo = jpeg.decode(readFileSync(join(images, "photo.jpg")), { useTArray: true, formatAsRGBA: true });
    const predicted = [...made, photo].map((m) => {
      const p = convClassifierReference(net, preprocessImage(m, spec), 16, 16);
      return p.indexOf(Math.max(...p));
    });
    const counts = decodeClassification(fromBase64(file.profile.prediction!.sketch)).counts;
    expect(counts).toEqual([0, 1, 2].map((k) => predicted.filter((p) => p === k).length));
  });

  it("records a grey image's brightness as its luma and its saturation as 0", async () => {
    const grey = join(dir, "grey");
    mkdirSync(grey);
    for (const level of [64, 128, 192]) {
      const png = new PNG({ width: 8, height: 8 });
      png.data.fill(level);
      for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
      writeFileSync(join(grey, `g${level}.png`), PNG.sync.write(png));
    }
    const out = join(dir, "grey.json");
    expect((await runCli("profile", "--images", grey, "--media", JSON.stringify({ ...SPEC, fit: "stretch" }), "-o", out)).stderr).toBe("");
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    expect(median(features["image.brightness"]!.sketch)).toBeCloseTo(128 / 255, 3);
    expect(median(features["image.saturation"]!.sketch)).toBeCloseTo(0, 9);
    expect(median(features["image.contrast"]!.sketch)).toBeCloseTo(0, 9);
  });

  it("says what is wrong with the spec or the data", async () => {
    expect((await runCli("profile", "--images", images, "-o", join(dir, "x.json"))).stderr).toContain("--images needs --media");
    const bad = await runCli("profile", "--images", images, "--media", JSON.stringify({ ...SPEC, fit: "squash" }), "-o", join(dir, "x.json"));
    expect(bad.stderr).toMatch(/--media: fit: Invalid option/);
    expect((await runCli("profile", "--images", images, "--media", "notjson", "-o", join(dir, "x.json"))).stderr).toBe(
      "driftline profile: --media takes the preprocessing as JSON ({ … }) or a file of it: no file notjson\n",
    );
    expect((await runCli("profile", "--images", images, "--media", "{ fit: 1 }", "-o", join(dir, "x.json"))).stderr).toMatch(/^driftline profile: --media: not valid JSON \(/);
    // another medium's preprocessing without its kind is named as such, not as wrong fields
    expect((await runCli("profile", "--images", images, "--media", '{"sampleRate":16000,"frameLength":512}', "-o", join(dir, "x.json"))).stderr).toBe(
      "driftline profile: --media describes audio but the data are image\n",
    );
    expect((await runCli("profile", "--images", join(dir, "none"), "--media", JSON.stringify(SPEC), "-o", join(dir, "x.json"))).stderr).toContain(`cannot read the directory ${join(dir, "none")}`);
  });

  it("says why a folder cannot be read, and where a relative one was looked for", async () => {
    const profile = (folder: string) => runCli("profile", "--images", folder, "--media", JSON.stringify(SPEC), "-o", join(dir, "x.json"));
    expect([(await profile("train-none/")).stderr, (await profile(join(dir, "none"))).stderr]).toEqual([
      `driftline profile: cannot read the directory train-none/: no such file or directory (relative to ${process.cwd()})\n`,
      `driftline profile: cannot read the directory ${join(dir, "none")}: no such file or directory\n`,
    ]);
  });

  it("refuses a table's flags beside the media instead of ignoring them: --target would record no baseline", async () => {
    const out = join(dir, "target.json");
    const media = ["--media", JSON.stringify(SPEC), "--model", modelPath, "-o", out];
    const results = [await runCli("profile", "--images", images, ...media, "--target", "label"), await runCli("profile", "--images", images, ...media, "--calibrate")];
    expect(results.map((r) => [r.code, r.stderr.split("\n")[0]])).toEqual([
      [2, "driftline profile: --target goes with a table (a data file), not with --images"],
      [2, "driftline profile: --calibrate goes with a table (a data file), not with --images"],
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it("says on stderr how many entries of the folder it skipped, and why", async () => {
    const mixed = join(dir, "mixed");
    mkdirSync(join(mixed, "raw"), { recursive: true });
    writeFileSync(join(mixed, "a.png"), readFileSync(join(images, "img-0.png")));
    writeFileSync(join(mixed, "b.PNG"), readFileSync(join(images, "img-1.png")));
    writeFileSync(join(mixed, "notes.txt"), "taken in May");
    writeFileSync(join(mixed, "c.webp"), "RIFF");
    writeFileSync(join(mixed, "raw", "d.png"), readFileSync(join(images, "img-2.png")));
    const result = await runCli("profile", "--images", mixed, "--media", JSON.stringify(SPEC), "-o", join(dir, "mixed.json"));
    expect(result.stdout).toMatch(/mixed\.json: 2 images, 7 descriptors/);
    expect(result.stderr).toBe(`skipped 3 of 5 entries in ${mixed}: 2 not .png, .jpg, .jpeg (c.webp, notes.txt), 1 subfolder (raw; subfolders are not read)\n`);
    // a folder of images only: nothing said
    expect((await runCli("profile", "--images", join(mixed, "raw"), "--media", JSON.stringify(SPEC), "-o", join(dir, "mixed.json"))).stderr).toBe("");
  });

  it("checks that -o can be written before profiling anything", async () => {
    // a folder whose image does not decode: that error would come first if the work started
    const folder = join(dir, "unwritten");
    mkdirSync(folder);
    writeFileSync(join(folder, "a.png"), "not a png");
    const profile = (out: string) => runCli("profile", "--images", folder, "--media", JSON.stringify(SPEC), "-o", out);
    const missing = join(dir, "no-such-folder");
    expect(await profile(join(missing, "p.json"))).toMatchObject({ code: 1, stderr: `driftline profile: cannot open ${join(missing, "p.json")}: no such file or directory\n` });
    expect(await profile(folder)).toMatchObject({ code: 1, stderr: `driftline profile: cannot open ${folder}: is a directory\n` });
    // a file that can be written: the work starts (and fails on the image), and no file is left
    expect((await profile(join(dir, "p.json"))).stderr).toContain("a.png: not a valid PNG");
    expect(existsSync(join(dir, "p.json"))).toBe(false);
  });

  it("says in one line which file is not a valid PNG, JPEG or WAV file, and why", async () => {
    const png = readFileSync(join(images, "img-0.png"));
    // a flipped byte in the first data chunk's type: pngjs stops there
    const corrupt = Buffer.from(png);
    corrupt.writeUInt8(corrupt[40]! ^ 0xff, 40);
    const jpg = readFileSync(join(images, "photo.jpg"));
    for (const [name, bytes, why] of [
      ["truncated.png", png.subarray(0, 60), "not a valid PNG (the file ends before the image does: truncated)"],
      ["text.png", Buffer.from("not a png"), "not a valid PNG (no PNG signature)"],
      ["corrupt.png", corrupt, "not a valid PNG (a corrupt chunk, or bytes after the image)"],
      ["text.jpg", Buffer.from("not a jpeg"), "not a valid JPEG (SOI not found)"],
      ["truncated.jpg", jpg.subarray(0, jpg.length - 2), "not a valid JPEG (marker was not found)"],
    ] as const) {
      const folder = join(dir, `broken-${name.replace(".", "-")}`);
      mkdirSync(folder);
      writeFileSync(join(folder, name), bytes);
      const result = await runCli("profile", "--images", folder, "--media", JSON.stringify(SPEC), "-o", join(dir, "x.json"));
      expect([result.code, result.stderr]).toEqual([1, `driftline profile: ${join(folder, name)}: ${why}\n`]);
    }
    const wavs = join(dir, "broken-wav");
    mkdirSync(wavs);
    writeFileSync(join(wavs, "text.wav"), "not a wav");
    const result = await runCli("profile", "--audio", wavs, "--media", '{"sampleRate":16000,"frameLength":512}', "-o", join(dir, "x.json"));
    expect(result.stderr).toMatch(new RegExp(`^driftline profile: ${join(wavs, "text.wav")}: not a valid WAV file \\([^\n]+\\)\n$`));
  });
});

describe("driftline profile --audio and --text", () => {
  it("resamples every WAV to the model's rate and sketches each model frame's level and duration", async () => {
    const audio = join(dir, "audio");
    mkdirSync(audio);
    for (const [i, amplitude] of [0.5, 0.5, 0.5].entries()) {
      const rate = 44100;
      const samples = Float32Array.from({ length: rate / 2 }, (_, n) => amplitude * Math.sin((2 * Math.PI * 440 * n) / rate));
      const wav = new wavefile.WaveFile();
      wav.fromScratch(1, rate, "32f", samples);
      writeFileSync(join(audio, `clip-${i}.wav`), wav.toBuffer());
    }
    const out = join(dir, "audio.json");
    const result = await runCli("profile", "--audio", audio, "--media", '{"sampleRate":16000,"frameLength":512}', "-o", out);
    expect(result.stderr).toBe("");
    // 0.5 s at 16 kHz: 8,000 samples, 15 whole frames of 512 (the 320 samples after them left out)
    expect(result.stdout).toContain("3 clips (45 frames)");
    const { features, rows } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    expect(rows).toBe(45);
    // a sine of amplitude 0.5: RMS 0.5 / √2, −9.03 dBFS
    expect(median(features["audio.level"]!.sketch)).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 1);
    expect(summary(features["audio.duration"]!.sketch)).toMatchObject({ min: expect.closeTo(512 / 16_000, 4), max: expect.closeTo(512 / 16_000, 4) });
    expect(median(features["audio.clipped"]!.sketch)).toBeCloseTo(0, 9);
    // one clip of one frame is said so, not "1 clips (1 frames)"
    const one = join(dir, "one-clip");
    mkdirSync(one);
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 16_000, "32f", new Float32Array(600).fill(0.1));
    writeFileSync(join(one, "clip.wav"), wav.toBuffer());
    const single = await runCli("profile", "--audio", one, "--media", '{"sampleRate":16000,"frameLength":512}', "-o", join(dir, "one-clip.json"));
    expect(single.stdout).toContain("1 clip (1 frame),");
  });

  it("records each clip's whole frames as the runtime records them when the app feeds them, a partial last frame left out", async () => {
    const audio = join(dir, "audio-frames");
    mkdirSync(audio);
    // at the model's rate: two whole frames and 276 samples more, and a clip shorter than a frame
    const clips = [1300, 300].map((length, i) => Float32Array.from({ length }, (_, n) => 0.4 * Math.sin(n * (0.05 + 0.1 * i))));
    clips.forEach((samples, i) => {
      const wav = new wavefile.WaveFile();
      wav.fromScratch(1, 16_000, "32f", samples);
      writeFileSync(join(audio, `clip-${i}.wav`), wav.toBuffer());
    });
    const out = join(dir, "audio-frames.json");
    const media = { kind: "audio" as const, sampleRate: 16_000, frameLength: 512 };
    const result = await runCli("profile", "--audio", audio, "--media", JSON.stringify(media), "-o", out);
    expect(result.stderr).toBe("");
    const { features, rows } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    // an app feeding the model passes whole frames (it holds the 276 samples back for the next
    // frame), and a clip shorter than a frame as it is (the runtime zero-pads it)
    const calls = [clips[0]!.subarray(0, 512), clips[0]!.subarray(512, 1024), clips[1]!].map((samples) => ({ audio: samples }));
    const bytes = buildDenseClassifier({ weights: Array.from({ length: 512 }, (_, i) => [0, i % 7]), bias: [0, 0], inputName: "audio" });
    const manifest: ClientManifest = {
      format: 1,
      model: "frames",
      sha256: sha256(bytes),
      size: bytes.length,
      inputs: [{ name: "audio", dtype: "float32", shape: ["batch", 512], media }],
      features: [],
      outputs: [{ name: "probabilities", kind: "probabilities", labels: ["a", "b"] }],
    };
    const live = await liveFeatures(bytes, manifest, calls);
    expect(summary(features["audio.duration"]!.sketch)).toEqual(summary(live["audio.duration"]!));
    expect(rows).toBe(3);
    for (const [name, sketch] of Object.entries(live)) expect(features[name]?.sketch, name).toBe(sketch);
  });

  it("runs an audio model on every clip as the runtime feeds it (resampled, zero-padded) and sketches its predictions", async () => {
    const audio = join(dir, "audio-model");
    mkdirSync(audio);
    const clips = [0.05, 0.3, 0.6, 0.9].map((amplitude, i) => {
      // 256 samples at 22.05 kHz: 186 at 16 kHz, shorter than a frame: one item, zero-padded
      const samples = Float32Array.from({ length: 256 }, (_, n) => amplitude * Math.sin((2 * Math.PI * 300 * n) / 22_050));
      const wav = new wavefile.WaveFile();
      wav.fromScratch(1, 22_050, "32f", samples);
      writeFileSync(join(audio, `clip-${i}.wav`), wav.toBuffer());
      return samples;
    });
    // a linear classifier of a 512-sample frame: "loud" for energy in the first samples
    const weights = Array.from({ length: 512 }, (_, i) => (i < 186 ? [0, Math.abs(Math.sin(i))] : [0, 0]));
    const classifier = { weights, bias: [1, 0], inputName: "frame" };
    const path = join(dir, "loudness.onnx");
    writeFileSync(path, buildDenseClassifier(classifier));
    const out = join(dir, "audio-model.json");
    const result = await runCli("profile", "--audio", audio, "--media", '{"sampleRate":16000,"frameLength":512}', "--model", path, "--labels", "quiet,loud", "-o", out);
    expect(result.stderr).toBe("");
    const file = JSON.parse(readFileSync(out, "utf8")) as ProfileFile;
    // the same frames, resampled by protocol/ as the runtime does and zero-padded
    const frames = clips.map((c) => {
      const frame = new Array<number>(512).fill(0);
      resample(c, 22_050, 16_000).forEach((x, i) => (frame[i] = x));
      return frame;
    });
    const expected = denseClassifierReference(classifier, frames).map((p) => (p[1]! > p[0]! ? 1 : 0));
    expect(decodeClassification(fromBase64(file.profile.prediction!.sketch)).counts).toEqual([expected.filter((c) => c === 0).length, expected.filter((c) => c === 1).length]);
    expect(new Set(expected).size).toBe(2);
  });

  it("refuses --model for a model with inputs the app passes at run time (Silero VAD's state and rate)", async () => {
    const result = await runCli(
      "profile",
      "--audio",
      join(dir, "audio-model"),
      "--media",
      '{"sampleRate":16000,"frameLength":512}',
      "--model",
      SILERO_VAD_V5,
      "--input",
      "input",
      "-o",
      join(dir, "x.json"),
    );
    expect(result.stderr).toContain("the model's inputs state, sr take what the app passes at run time");
  });

  it("says so at once when --input is not given: no --input would let it feed Silero VAD", async () => {
    const result = await runCli("profile", "--audio", join(dir, "audio-model"), "--media", '{"sampleRate":16000,"frameLength":512}', "--model", SILERO_VAD_V5, "-o", join(dir, "x.json"));
    expect([result.code, result.stderr]).toEqual([
      1,
      `driftline profile: the model has no input "audio" (inputs: input, state, sr); profile feeds only the audio input, and the others take what the app passes at run time: profile the descriptors without --model\n`,
    ]);
  });

  it("runs a text model on every line through the app's encoder module and sketches its predictions", async () => {
    const path = join(dir, "reviews.txt");
    const texts = ["a good movie", "awful plot", "the actor was fine", "great great great", "bad bad movie"];
    writeFileSync(path, `${texts.join("\n")}\n`);
    const { bytes, classifier } = textModel("sentiment");
    const model = join(dir, "sentiment.onnx");
    writeFileSync(model, bytes);
    const encoder = await encoderModule("encoder.mjs", `export { tokenize as default } from "./tokenizer.ts";`);
    const out = join(dir, "sentiment.json");
    const media = '{"kind":"text"}';
    expect((await runCli("profile", "--text", path, "--media", media, "--model", model, "--labels", "negative,positive", "-o", out)).stderr).toContain("needs --encoder FILE");
    const result = await runCli("profile", "--text", path, "--media", media, "--model", model, "--encoder", encoder, "--labels", "negative,positive", "-o", out);
    expect(result.stderr).toBe("");
    const sketch = decodeClassification(fromBase64((JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile.prediction!.sketch));
    const classes = texts.map((t) => {
      const p = textClassifierReference(classifier, tokenize([t]).ids[0]!).probabilities;
      return p[1]! > p[0]! ? 1 : 0;
    });
    expect(sketch.counts).toEqual([classes.filter((c) => c === 0).length, classes.filter((c) => c === 1).length]);
    expect(sketch.entropy.n).toBe(5);
  });

  it("never sketches the embedding output as the prediction: beside a classifier it is the embedding, alone it is refused", async () => {
    const path = join(dir, "corpus.txt");
    const words = ["a good movie", "awful plot", "the actor was fine", "great", "bad bad movie", "the plot"];
    const texts = Array.from({ length: 24 }, (_, i) => `${words[i % 6]} ${words[(i * 5) % 6]}`);
    writeFileSync(path, `${texts.join("\n")}\n`);
    const encoder = await encoderModule("encoder.mjs", `export { tokenize as default } from "./tokenizer.ts";`);
    const embeddings = join(dir, "corpus-embeddings.ndjson");
    const profiled = async (name: string, embeddingOnly: boolean, labels: string[]) => {
      const { bytes, classifier } = textModel(name, embeddingOnly);
      const model = join(dir, `${name}.onnx`);
      writeFileSync(model, bytes);
      writeFileSync(embeddings, `${texts.map((t) => JSON.stringify(textClassifierReference(classifier, tokenize([t]).ids[0]!).embedding)).join("\n")}\n`);
      const out = join(dir, `${name}.json`);
      const flags = ["--embeddings", embeddings, "--embedding-output", "embedding", "--input", "input_ids", ...labels, "-o", out];
      return { result: await runCli("profile", "--text", path, "--media", '{"kind":"text"}', "--model", model, "--encoder", encoder, ...flags), out };
    };
    const both = await profiled("sentiment-embedding", false, ["--labels", "negative,positive"]);
    expect(both.result.stderr).toBe("");
    expect((JSON.parse(readFileSync(both.out, "utf8")) as ProfileFile).outputs).toEqual([
      { name: "probabilities", kind: "probabilities", labels: ["negative", "positive"] },
      { name: "embedding", kind: "embedding" },
    ]);
    const alone = await profiled("encoder-only", true, []);
    expect(alone.result).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^driftline profile: the model's only output is its embedding "embedding": it makes no prediction to sketch; profile without --model/),
    });
  });

  it("records the unknown-token share the encoder reports as the runtime does, NaN when it reports none", async () => {
    const texts = ["a good movie", "ein schlechter Film", "the plot was awful, 0 stars", "great great"];
    const path = join(dir, "unknown.txt");
    writeFileSync(path, `${texts.join("\n")}\n`);
    const { bytes, manifest: full } = textModel("unknown");
    const { embedding: _, ...manifest } = full;
    const model = join(dir, "unknown.onnx");
    writeFileSync(model, bytes);
    const calls = texts.map((t) => ({ input_ids: t }));
    const profiled = async (encoder: string) => {
      const out = join(dir, "unknown.json");
      const result = await runCli("profile", "--text", path, "--model", model, "--encoder", encoder, "--labels", "negative,positive", "-o", out);
      expect(result.stderr).toBe("");
      return (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile.features;
    };
    const features = await profiled(await encoderModule("encoder.mjs", `export { tokenize as default } from "./tokenizer.ts";`));
    const live = await liveFeatures(bytes, manifest, calls, tokenize);
    // shares 0, 1, 2/5 ("was", "stars"), 0
    expect(summary(features["input_ids.unknownTokens"]!.sketch)).toEqual(summary(live["input_ids.unknownTokens"]!));
    for (const [name, sketch] of Object.entries(live)) expect(features[name]?.sketch, name).toBe(sketch);
    // an encoder that answers only feeds: the runtime records NaN (a non-finite value) per text
    const bare = (batch: string[]) => ({ feeds: tokenize(batch).feeds });
    const withoutShares = await profiled(await encoderModule("bare-encoder.mjs", `import { tokenize } from "./tokenizer.ts"; export default (texts: string[]) => ({ feeds: tokenize(texts).feeds });`));
    const liveWithout = await liveFeatures(bytes, manifest, calls, bare);
    expect(summary(withoutShares["input_ids.unknownTokens"]!.sketch)).toEqual({ count: 0, nonFinite: 4, min: expect.anything(), max: expect.anything() });
    expect(withoutShares["input_ids.unknownTokens"]!.sketch).toBe(liveWithout["input_ids.unknownTokens"]);
  });

  it("refuses an unknown-token share outside 0–1 as the runtime refuses it, rather than profiling counts the runtime never records", async () => {
    const path = join(dir, "counts.txt");
    writeFileSync(path, "a good movie\nthe plot was awful, 0 stars\n");
    const out = join(dir, "counts.json");
    // an encoder that reports how many tokens it did not know, not their share
    const counts = await encoderModule(
      "counts-encoder.mjs",
      `import { tokenize } from "./tokenizer.ts"; export default (texts: string[]) => { const t = tokenize(texts); return { feeds: t.feeds, unknownTokens: t.ids.map((ids) => ids.filter((id) => id === 0).length) }; };`,
    );
    const result = await runCli("profile", "--text", path, "--media", '{"kind":"text"}', "--encoder", counts, "-o", out);
    // the second line: "was" and "stars" are not in the tokenizer's vocabulary
    expect([result.code, result.stderr.trim()]).toEqual([
      1,
      `driftline profile: ${path}:2: --encoder's unknownTokens[0] is 2: a share of the text's tokens, 0–1 (NaN, or no unknownTokens, when it cannot tell)`,
    ]);
  });

  it("records the encoder's unknown-token share without --model too, as for an embedding model's profile", async () => {
    const texts = ["a good movie", "ein schlechter Film", "the plot was awful, 0 stars"];
    const path = join(dir, "encoder-only.txt");
    writeFileSync(path, `${texts.join("\n")}\n`);
    const out = join(dir, "encoder-only.json");
    const encoder = await encoderModule("encoder-only.mjs", `export { tokenize as default } from "./tokenizer.ts";`);
    const result = await runCli("profile", "--text", path, "--input", "input_ids", "--encoder", encoder, "-o", out);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    const { bytes, manifest: full } = textModel("encoder-only");
    const { embedding: _, ...manifest } = full;
    const live = await liveFeatures(
      bytes,
      manifest,
      texts.map((t) => ({ input_ids: t })),
      tokenize,
    );
    expect(summary(features["input_ids.unknownTokens"]!.sketch)).toEqual(summary(live["input_ids.unknownTokens"]!));
    expect(features["input_ids.unknownTokens"]!.sketch).toBe(live["input_ids.unknownTokens"]);
  });

  it("refuses a text file with no texts, as a folder with no images", async () => {
    for (const [name, content] of [
      ["empty.txt", ""],
      ["blank.txt", "\n  \n\t\r\n"],
    ]) {
      const path = join(dir, name!);
      writeFileSync(path, content!);
      const out = join(dir, `${name}.json`);
      const result = await runCli("profile", "--text", path, "-o", out);
      expect([result.code, result.stderr]).toEqual([1, `driftline profile: ${path} holds no texts (one per line; blank lines are none)\n`]);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("refuses a folder whose WAV files hold no samples, as a folder with no WAV files", async () => {
    const silent = join(dir, "no-samples");
    mkdirSync(silent);
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 16_000, "16", []);
    writeFileSync(join(silent, "empty.wav"), wav.toBuffer());
    const out = join(dir, "no-samples.json");
    const result = await runCli("profile", "--audio", silent, "--media", '{"sampleRate":16000,"frameLength":512}', "-o", out);
    expect([result.code, result.stderr.split("\n").filter((l) => l.startsWith("driftline"))]).toEqual([
      1,
      [`driftline profile: the WAV files of ${silent} hold no samples: a profile needs at least one frame`],
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it("reads a text file saved with a byte-order mark and Windows line ends as the texts in it", async () => {
    const path = join(dir, "bom.txt");
    writeFileSync(path, "\uFEFFgood movie\r\nawful plot\r\n");
    const out = join(dir, "bom.json");
    expect((await runCli("profile", "--text", path, "-o", out)).code).toBe(0);
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    // no code point outside ASCII in either text: the mark is the file's, not the first text's
    expect(summary(features["text.nonAscii"]!.sketch)).toMatchObject({ count: 2, max: expect.closeTo(0, 9) });
  });

  it("sketches one text per line", async () => {
    const path = join(dir, "texts.txt");
    writeFileSync(path, "hello world\n\nthree words here\nZürich 8001\n");
    const out = join(dir, "text.json");
    expect((await runCli("profile", "--text", path, "-o", out)).stdout).toMatch(/3 texts, 5 descriptors/);
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    // counts are recorded to within a cell two wide, as the runtime records them
    expect(Math.abs(median(features["text.words"]!.sketch) - 2)).toBeLessThan(1);
    // no encoder tells the unknown-token share: each text's is missing (NaN), as the runtime
    // records it when the app's hook reports none
    expect(summary(features["text.unknownTokens"]!.sketch)).toMatchObject({ count: 0, nonFinite: 3 });
  });
});

describe("driftline profile --model that does not fit the media", () => {
  const textPath = join(dir, "fit-texts.txt");
  writeFileSync(textPath, "a good movie\n\nawful plot\n");
  const sentiment = join(dir, "fit-sentiment.onnx");
  writeFileSync(sentiment, textModel("fit").bytes);
  const audio = join(dir, "fit-audio");
  mkdirSync(audio);
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, 16_000, "32f", new Float32Array(600).fill(0.1));
  writeFileSync(join(audio, "a.wav"), wav.toBuffer());
  /** An --encoder module of plain JS: `body` is encodeText's. */
  const encoder = (name: string, body: string) => {
    const path = join(dir, `${name}.mjs`);
    writeFileSync(path, `export default (texts, input) => { ${body} };`);
    return path;
  };
  /** Runs `driftline profile`; a failure must be one line on stderr, exit 1. */
  const failure = async (...argv: string[]) => {
    const result = await runCli("profile", ...argv, "-o", join(dir, "fit.json"));
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n").filter(Boolean), result.stderr).toHaveLength(1);
    return result.stderr.trimEnd();
  };

  it("refuses an image size or layout, or a medium, other than the model's input, before reading any item", async () => {
    const media = (spec: object) => JSON.stringify({ ...SPEC, ...spec });
    expect(await failure("--images", images, "--media", media({ width: 64, height: 64 }), "--model", modelPath)).toBe(
      'driftline profile: the model\'s input "image" is [batch,3,16,16] but --media makes [1,3,64,64]',
    );
    expect(await failure("--images", images, "--media", media({ layout: "NHWC" }), "--model", modelPath)).toBe(
      'driftline profile: the model\'s input "image" is [batch,3,16,16] but --media makes [1,16,16,3]',
    );
    expect(await failure("--audio", audio, "--media", '{"sampleRate":16000,"frameLength":512}', "--model", modelPath)).toBe(
      'driftline profile: the model\'s input "image" is [batch,3,16,16] but --media makes [1,512]',
    );
    expect(await failure("--images", images, "--media", media({}), "--model", sentiment)).toBe('driftline profile: the model\'s input "input_ids" is [batch,tokens] but --media makes [1,3,16,16]');
  });

  it("says which text an encoder failed on, or made feeds the model does not take, and what onnxruntime refused", async () => {
    const tokens = (type: string, ids: string) => `return { feeds: { input_ids: { type: "${type}", data: ${ids}, dims: [1, 1] } } };`;
    const ids = encoder("fit-ids", tokens("int64", "BigInt64Array.of(1n)"));
    expect(await failure("--text", textPath, "--model", modelPath, "--encoder", ids)).toBe(
      `driftline profile: ${textPath}:1: --encoder makes the feeds "input_ids" but the model's inputs are "image": encodeText answers { feeds } by input name`,
    );
    expect(await failure("--text", textPath, "--model", sentiment, "--encoder", encoder("fit-throws", 'throw new Error("no vocabulary\\n  loaded");'))).toBe(
      `driftline profile: ${textPath}:1: --encoder failed: no vocabulary; loaded`,
    );
    expect(await failure("--text", textPath, "--model", sentiment, "--encoder", encoder("fit-names", 'return { feeds: { ids: { type: "int64", data: BigInt64Array.of(1n), dims: [1, 1] } } };'))).toBe(
      `driftline profile: ${textPath}:1: --encoder makes the feeds "ids" but the model's inputs are "input_ids": encodeText answers { feeds } by input name`,
    );
    expect(await failure("--text", textPath, "--model", sentiment, "--encoder", encoder("fit-none", "return {};"))).toContain('--encoder makes the feeds none but the model\'s inputs are "input_ids"');
    expect(await failure("--text", textPath, "--model", sentiment, "--encoder", encoder("fit-int32", tokens("int32", "Int32Array.of(1)")))).toBe(
      `driftline profile: ${textPath}:1: the model's input "input_ids" takes int64 but --encoder makes int32`,
    );
    expect(
      await failure("--text", textPath, "--model", sentiment, "--encoder", encoder("fit-short", 'return { feeds: { input_ids: { type: "int64", data: BigInt64Array.of(1n), dims: [1, 3] } } };')),
    ).toMatch(new RegExp(`^driftline profile: ${textPath}:1: --encoder's feed "input_ids": .*size`));
    // the third line of the file (the second is blank) holds a token id the model has no embedding for
    const late = encoder("fit-late", `return { feeds: { input_ids: { type: "int64", data: BigInt64Array.of(texts[0] === "awful plot" ? 99n : 1n), dims: [1, 1] } } };`);
    expect(await failure("--text", textPath, "--model", sentiment, "--encoder", late)).toBe(
      `driftline profile: ${textPath}:3: the model failed to run: Non-zero status code returned while running Gather node. Name:'' Status Message: indices element out of data bounds, idx=99 must be within the inclusive range [-11,10]`,
    );
  });
});

describe("driftline profile --embeddings", () => {
  const path = join(dir, "embeddings.ndjson");
  const rows = Array.from({ length: 300 }, (_, i) => Array.from({ length: 10 }, (_, k) => Math.sin(i * 0.7 + k) + (k === 0 ? i / 300 : 0)));
  writeFileSync(path, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

  it("records the projection settings, the kernel's bandwidth and the reference sums", async () => {
    const texts = join(dir, "for-embeddings.txt");
    writeFileSync(texts, "one\ntwo\n");
    const out = join(dir, "embeddings.json");
    const result = await runCli("profile", "--text", texts, "--embeddings", path, "--embedding-dims", "4", "--embedding-features", "32", "-o", out);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/2 texts, 5 descriptors .*, 10-value embeddings/);
    const file = JSON.parse(readFileSync(out, "utf8")) as ProfileFile;
    expect(file.embedding).toMatchObject({ length: 10, dims: 4, features: 32, seed: 1 });
    expect(file.embedding!.bandwidth).toBeGreaterThan(0);
    const sketch = decodeEmbedding(fromBase64(file.profile.embedding!.sketch));
    expect([sketch.count, sketch.dims, sketch.features]).toEqual([300, 4, 32]);
    expect(file.profile.embedding!.nullScale).toBeGreaterThan(0);
    // without --embedding-dims: 16 components, or fewer for a shorter embedding (these have 10)
    const plain = join(dir, "embeddings-plain.json");
    expect((await runCli("profile", "--text", texts, "--embeddings", path, "--embedding-features", "32", "-o", plain)).stderr).toBe("");
    expect((JSON.parse(readFileSync(plain, "utf8")) as ProfileFile).embedding).toMatchObject({ length: 10, dims: 10 });
  });

  it("says in one line when the embeddings are too few to calibrate the MMD", async () => {
    const few = join(dir, "three-embeddings.ndjson");
    writeFileSync(few, "[1, 0]\n[0, 1]\n[1, 1]\n");
    const texts = join(dir, "for-few.txt");
    writeFileSync(texts, "one text\n");
    const result = await runCli("profile", "--text", texts, "--embeddings", few, "-o", join(dir, "few.json"));
    expect(result).toMatchObject({ code: 1, stderr: `driftline profile: ${few}: 3 embeddings are too few to calibrate the MMD (dealt into 10 chunks, no chunk held two); give more\n` });
  });

  it("shows how much of the embeddings file it has read, every 10 % (stderr not a terminal)", async () => {
    const many = join(dir, "many-embeddings.ndjson");
    writeFileSync(many, `${Array.from({ length: 5_000 }, (_, i) => JSON.stringify(rows[i % rows.length])).join("\n")}\n`);
    let written = "";
    const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((written += String(chunk)), true));
    try {
      await profileEmbeddings(many, { dims: 4, features: 32, seed: 1 });
    } finally {
      write.mockRestore();
    }
    const shares = [...written.matchAll(/^sketching embeddings of .*: (\d+)% /gm)].map((m) => Number(m[1]));
    expect(shares).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it("refuses a mistake in the media flags before it reads the embeddings", async () => {
    const bad = join(dir, "not-json.ndjson");
    writeFileSync(bad, "[1, 2]\n[1, 2\n");
    const result = await runCli("profile", "--images", images, "--embeddings", bad, "-o", join(dir, "x.json"));
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/^driftline profile: --images needs --media: /) });
  });

  it("says which line is wrong, and which flags need --embeddings", async () => {
    const bad = join(dir, "bad.ndjson");
    writeFileSync(bad, "[1, 2, 3]\n[1, 2]\n");
    const texts = join(dir, "for-embeddings.txt");
    expect((await runCli("profile", "--text", texts, "--embeddings", bad, "-o", join(dir, "x.json"))).stderr).toContain(`${bad}:2: 2 values, the first embedding has 3`);
    expect((await runCli("profile", "--text", texts, "--embedding-dims", "8", "-o", join(dir, "x.json"))).stderr).toContain("--embedding-dims goes with --embeddings");
  });
});
