// Image preprocessing and descriptors against Pillow and numpy on the same images
// (test/fixtures/image/make-images.py): every fit × filter, both layouts and channel orders.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ImageFilter, type ImageFit, type ImageSpec, fitImage, imageDescriptors, preprocessImage } from "../../../protocol/preprocess/image.ts";

interface Case {
  source: string;
  spec: { width: number; height: number; fit: ImageFit; filter: ImageFilter };
  nchw_rgb: number[];
  uint8: number[];
  descriptors: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/image/images.json", import.meta.url), "utf8")) as {
  mean: number[];
  std: number[];
  images: Record<string, { width: number; height: number; rgba: number[] }>;
  cases: Case[];
};
const images = Object.fromEntries(Object.entries(fixture.images).map(([name, i]) => [name, { data: Uint8Array.from(i.rgba), width: i.width, height: i.height }]));

/** The largest absolute difference between two arrays of the same length. */
function maxError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let most = 0;
  for (let i = 0; i < want.length; i++) most = Math.max(most, Math.abs(got[i]! - want[i]!));
  return most;
}

/** What `run` returns, and the length of the largest Float32Array it made. */
function largestFloat32Array<T>(run: () => T): { result: T; largest: number } {
  const Native = globalThis.Float32Array;
  let largest = 0;
  globalThis.Float32Array = class extends Native {
    constructor(...args: ConstructorParameters<typeof Native>) {
      super(...args);
      largest = Math.max(largest, this.length);
    }
  } as typeof Native;
  try {
    return { result: run(), largest };
  } finally {
    globalThis.Float32Array = Native;
  }
}

const named = fixture.cases.map((c) => [`${c.source}, ${c.spec.fit}, ${c.spec.filter}`, c] as const);

describe("image preprocessing", () => {
  it.each(named)("%s: NCHW RGB and NHWC BGR equal Pillow's within 1e-4", (_, c) => {
    const image = images[c.source]!;
    const spec: ImageSpec = { ...c.spec, layout: "NCHW", channels: "RGB", mean: fixture.mean, std: fixture.std, dtype: "float32" };
    expect(maxError(preprocessImage(image, spec), c.nchw_rgb)).toBeLessThan(1e-4);
    // NHWC, BGR: the same values, moved
    const n = c.spec.width * c.spec.height;
    const nhwcBgr = Array.from({ length: 3 * n }, (_, i) => c.nchw_rgb[(2 - (i % 3)) * n + Math.floor(i / 3)]!);
    const bgr = { ...spec, layout: "NHWC" as const, channels: "BGR" as const, mean: [...fixture.mean].reverse(), std: [...fixture.std].reverse() };
    expect(maxError(preprocessImage(image, bgr), nhwcBgr)).toBeLessThan(1e-4);
  });

  it.each(named)("%s: uint8 pixels equal Pillow's rounded", (_, c) => {
    const spec: ImageSpec = { ...c.spec, layout: "NHWC", channels: "RGB", dtype: "uint8" };
    const got = preprocessImage(images[c.source]!, spec);
    expect(got).toBeInstanceOf(Uint8Array);
    // a pixel at .5 after float resampling may round either way
    expect(maxError(got, c.uint8)).toBeLessThanOrEqual(1);
  });

  it.each(named)("%s: descriptors equal numpy's within 1e-6", (_, c) => {
    const image = images[c.source]!;
    const got = imageDescriptors(fitImage(image, c.spec), image);
    for (const [name, want] of Object.entries(c.descriptors)) expect(got[name as keyof typeof got], name).toBeCloseTo(want, 6);
  });

  it("refuses an RGBA buffer of the wrong size", () => {
    const spec = { width: 4, height: 4, fit: "stretch", filter: "bilinear" } as const;
    expect(() => fitImage({ data: new Uint8Array(10), width: 2, height: 2 }, spec)).toThrow("an RGBA image of 2×2 holds 16 bytes, not 10");
  });

  it.each(["stretch", "cover", "contain"] as const)("%s: reads a large source in place, allocating no float array of its size", (fit) => {
    // a 12 MP camera photo was copied into three float planes first: 12 bytes a pixel, 144 MB
    const [width, height] = [1200, 900];
    const source = { data: new Uint8Array(width * height * 4).fill(128), width, height };
    const { result: planes, largest } = largestFloat32Array(() => fitImage(source, { width: 224, height: 224, fit, filter: "bilinear" }));
    expect(planes.map((p) => p.data[224 * 112 + 112])).toEqual([128, 128, 128]);
    expect(largest).toBeLessThan(width * height);
  });

  it("resamples only the source rows a cropped box reads (cover of a tall source)", () => {
    // 900 × 1200 covered to 224 × 224: the centred 900 × 900 box, and the filter's reach around it
    const source = { data: new Uint8Array(900 * 1200 * 4).fill(128), width: 900, height: 1200 };
    const { largest } = largestFloat32Array(() => fitImage(source, { width: 224, height: 224, fit: "cover", filter: "bicubic" }));
    expect(largest).toBeLessThanOrEqual(224 * 920);
  });
});
