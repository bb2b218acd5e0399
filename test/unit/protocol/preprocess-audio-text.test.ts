// Audio resampling and descriptors against scipy.signal.resample_poly and numpy, text descriptors
// against Python's Unicode tables (test/fixtures/audio/make-audio.py).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../protocol/seeded-random.ts";
import { audioDescriptors, resample } from "../../../protocol/preprocess/audio.ts";
import { textDescriptors } from "../../../protocol/preprocess/text.ts";

const fixture = JSON.parse(readFileSync(new URL("../../fixtures/audio/audio.json", import.meta.url), "utf8")) as {
  target: number;
  frame: number;
  audio: { name: string; rate: number; resampled: number[]; descriptors: Record<string, number> }[];
  text: { text: string; descriptors: Record<string, number> }[];
};

/** The fixture's clips, made as the script makes them. */
function clip(name: string, rate: number): Float32Array {
  const n = rate / 10;
  const t = (i: number) => i / rate;
  const noise = (seed: number, amplitude: number) => {
    const next = seededRandom(seed);
    return Float32Array.from({ length: n }, () => amplitude * (next() - 0.5));
  };
  if (name === "quiet-noise") return noise(1, 0.02);
  if (name === "loud-noise") return noise(2, 0.6);
  if (name === "clipped-tone") return Float32Array.from({ length: n }, (_, i) => Math.max(-1, Math.min(1, 1.5 * Math.sin(2 * Math.PI * 440 * t(i)))));
  const partials = [120, 240, 700, 1220, 2600];
  return Float32Array.from({ length: n }, (_, i) => {
    if (i >= n / 2 || !(Math.sin(2 * Math.PI * 15 * t(i)) > 0)) return 0;
    return 0.2 * partials.reduce((sum, f, k) => sum + Math.sin(2 * Math.PI * f * t(i)) / (k + 1), 0);
  });
}

const named = fixture.audio.map((c) => [`${c.name} at ${c.rate} Hz`, c] as const);

describe("audio preprocessing", () => {
  it.each(named)("%s: resampled to 16 kHz equals scipy's resample_poly within 1e-4", (_, c) => {
    const got = resample(clip(c.name, c.rate), c.rate, fixture.target);
    expect(got.length).toBe(c.resampled.length);
    let most = 0;
    got.forEach((v, i) => (most = Math.max(most, Math.abs(v - c.resampled[i]!))));
    expect(most).toBeLessThan(1e-4);
  });

  it.each(named)("%s: descriptors equal numpy's", (_, c) => {
    const got = audioDescriptors(resample(clip(c.name, c.rate), c.rate, fixture.target), { sampleRate: fixture.target, frameLength: fixture.frame });
    for (const [name, want] of Object.entries(c.descriptors)) expect(got[name as keyof typeof got], name).toBeCloseTo(want, 4);
  });

  it("returns a copy at the same rate, and refuses rates that are not positive integers", () => {
    const x = Float32Array.of(0.5, -0.5);
    expect(resample(x, 16000, 16000)).toEqual(x);
    expect(() => resample(x, 44100.5, 16000)).toThrow("sample rates must be positive integers, not 44100.5 and 16000");
  });
});

describe("text descriptors", () => {
  it("counts words as Python's str.split() does: on the whitespace it knows (NEL, U+001C–U+001F) and not on U+FEFF, which it does not", () => {
    // len(s.split()) in Python 3.11 for each
    const cases: [string, number][] = [
      ["a\u0085b", 2],
      ["a\x1cb\x1dc\x1ed\x1fe", 5],
      ["a\ufeffb", 1],
      ["\ufeffhello world", 2],
      ["a\u00a0b\u3000c\u2028d", 4],
    ];
    expect(cases.map(([text]) => textDescriptors(text).words)).toEqual(cases.map(([, words]) => words));
  });

  it.each(fixture.text.map((c) => [JSON.stringify(c.text), c] as const))("%s: equal Python's", (_, c) => {
    const got = textDescriptors(c.text);
    for (const [name, want] of Object.entries(c.descriptors)) expect(got[name as keyof typeof got], name).toBeCloseTo(want, 12);
  });
});
