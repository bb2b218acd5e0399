// `driftline profile --images | --audio | --text`: real PNG, JPEG and WAV files written with the
// maintained encoders, decoded and preprocessed as the runtime will, descriptors sketched, and an
// image model (a conv net built in code) run on every preprocessed image.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import wavefile from "wavefile";
import { afterAll, describe, expect, it } from "vitest";
import type { ProfileFile } from "../../../cli/profiler.ts";
import { type ImageSpec, preprocessImage } from "../../../protocol/preprocess/image.ts";
import { decodeClassification, decodeNumeric, fromBase64, quantile } from "../../../protocol/sketch/index.ts";
import { buildConvClassifier, convClassifier, convClassifierReference } from "../../fixtures/onnx-models.ts";
import { runCli } from "./run-cli.ts";

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
    expect((await runCli("profile", "--images", join(dir, "none"), "--media", JSON.stringify(SPEC), "-o", join(dir, "x.json"))).stderr).toContain(`cannot read the directory ${join(dir, "none")}`);
    writeFileSync(join(dir, "broken.png"), "not a png");
    const broken = join(dir, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "a.png"), "not a png");
    expect((await runCli("profile", "--images", broken, "--media", JSON.stringify(SPEC), "-o", join(dir, "x.json"))).stderr).toMatch(/a\.png does not decode/);
  });
});

describe("driftline profile --audio and --text", () => {
  it("resamples every WAV to the model's rate and sketches its level and duration", async () => {
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
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    // a sine of amplitude 0.5: RMS 0.5 / √2, −9.03 dBFS
    expect(median(features["audio.level"]!.sketch)).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 1);
    expect(median(features["audio.duration"]!.sketch)).toBeCloseTo(0.5, 2);
    expect(median(features["audio.clipped"]!.sketch)).toBeCloseTo(0, 9);
    expect((await runCli("profile", "--audio", audio, "--media", '{"sampleRate":16000,"frameLength":512}', "--model", modelPath, "-o", out)).stderr).toContain(
      "--model with --audio is not supported yet",
    );
  });

  it("sketches one text per line", async () => {
    const path = join(dir, "texts.txt");
    writeFileSync(path, "hello world\n\nthree words here\nZürich 8001\n");
    const out = join(dir, "text.json");
    expect((await runCli("profile", "--text", path, "-o", out)).stdout).toMatch(/3 texts, 5 descriptors/);
    const { features } = (JSON.parse(readFileSync(out, "utf8")) as ProfileFile).profile;
    expect(median(features["text.words"]!.sketch)).toBeCloseTo(2, 1);
  });
});
