/**
 * Audio preprocessing as a manifest names it — resampling to the model's rate — and audio
 * descriptors. The runtime and `driftline profile` run this same code. Resampling is scipy's
 * `resample_poly` (polyphase, Kaiser-windowed sinc, β = 5, 10 zero crossings a side): what most
 * audio training pipelines resample with.
 */

import { DriftlineError } from "../errors.ts";

/** Kaiser window β of the anti-aliasing filter (scipy's default for `resample_poly`). */
const KAISER_BETA = 5;
/** Frames whose RMS is below this many dBFS count as silent. */
export const SILENCE_DBFS = -60;
/** Samples at or above this magnitude count as clipped. */
export const CLIP_LEVEL = 0.999;
/** The level of digital silence, in dBFS (the log of 0 is −∞). */
const FLOOR_DBFS = -120;

/** What a manifest says about one audio input. */
export interface AudioSpec {
  /** The model's sample rate, in Hz. */
  sampleRate: number;
  /** Samples per frame the model takes (and the silent share is judged over). */
  frameLength: number;
}

/** The modified Bessel function of the first kind, order 0 (power series; converges for the β used). */
function besselI0(x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 100 && term > sum * 1e-17; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The largest term of the reduced ratio of two rates a clip is resampled by: the filter has 20
 * taps a term (44.1 kHz to 16 kHz is 441:160; every usual rate, 8–768 kHz, to every usual model
 * rate is at most 10,240:147), so a rate beyond it (a garbled one, or one in the wrong unit) would
 * take seconds or more memory than there is.
 */
const MAX_RATIO_TERM = 32_768;

/** `to / from` in lowest terms, as [up, down]. */
function ratio(from: number, to: number): [number, number] {
  const g = gcd(from, to);
  return [to / g, from / g];
}

/** scipy's `firwin(2 · half + 1, 1 / rate, window=("kaiser", 5))` times `up`: a low-pass at the lower Nyquist. */
function lowPass(half: number, rate: number, up: number): Float64Array {
  const taps = 2 * half + 1;
  const cutoff = 1 / rate;
  const h = new Float64Array(taps);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const m = n - half;
    const x = cutoff * m;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = (2 * n) / (taps - 1) - 1;
    h[n] = cutoff * sinc * (besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(KAISER_BETA));
    sum += h[n]!;
  }
  for (let n = 0; n < taps; n++) h[n] = (h[n]! / sum) * up;
  return h;
}

/**
 * `samples` at `from` Hz resampled to `to` Hz, as scipy's `resample_poly(x, up, down)` with
 * up / down = to / from in lowest terms: ⌈n · up / down⌉ samples.
 *
 * @param samples - mono samples
 * @param from - their rate, in Hz (a positive integer)
 * @param to - the rate wanted, in Hz (a positive integer)
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (!(Number.isInteger(from) && from > 0 && Number.isInteger(to) && to > 0)) throw new RangeError(`sample rates must be positive integers, not ${from} and ${to}`);
  const [up, down] = ratio(from, to);
  if (up === 1 && down === 1) return samples.slice();
  const n = samples.length;
  const outLength = Math.ceil((n * up) / down);
  const rate = Math.max(up, down);
  const half = 10 * rate;
  const h = lowPass(half, rate, up);
  // scipy pads the filter in front so output samples sit on its centre
  const pre = down - (half % down);
  const skip = Math.floor((half + pre) / down);
  const out = new Float32Array(outLength);
  for (let j = 0; j < outLength; j++) {
    // output j is sample (j + skip) · down of the upsampled signal convolved with the padded filter
    const at = (j + skip) * down - pre;
    let sum = 0;
    // upsampled index i = at − k must be a multiple of up and inside the signal
    let k = ((at % up) + up) % up;
    for (; k < h.length; k += up) {
      const i = (at - k) / up;
      if (i < 0) break;
      if (i < n) sum += h[k]! * samples[i]!;
    }
    out[j] = sum;
  }
  return out;
}

/**
 * A clip as the model hears it: resampled to the model's rate; a clip with a sample that is not a
 * finite number (NaN or ±Infinity: the model would be fed it, its level read as silence), at a
 * rate whose ratio to the model's has a term above {@link MAX_RATIO_TERM}, or longer than the
 * model's frame once resampled is refused before it is resampled (DriftlineError `validation`; the
 * latter saying how to pass a clip at another rate: a 48 kHz frame passed bare is taken at the
 * model's rate, three times too long), a shorter one is zero-padded by whoever writes it into the
 * frame.
 *
 * @param samples - mono samples
 * @param sampleRate - their rate, in Hz
 * @param spec - the model's rate and frame length
 * @param input - the input's name, for the error
 */
export function modelClip(samples: Float32Array, sampleRate: number, spec: AudioSpec, input: string): Float32Array {
  const [up, down] = ratio(sampleRate, spec.sampleRate);
  if (Math.max(up, down) > MAX_RATIO_TERM) {
    const terms = `the two reduce to ${down}:${up}, and a rate is resampled to the model's only when both terms are at most ${MAX_RATIO_TERM} (44100 Hz to 16000 Hz is 441:160)`;
    throw new DriftlineError("validation", `${input}: a clip at ${sampleRate} Hz is not resampled to ${spec.sampleRate} Hz: ${terms}`);
  }
  // as many samples as resample() makes
  const length = Math.ceil((samples.length * up) / down);
  if (length > spec.frameLength) {
    const hint = `a Float32Array is taken at ${spec.sampleRate} Hz: a clip at another rate is { samples, sampleRate }`;
    throw new DriftlineError("validation", `${input}: ${length} samples at ${spec.sampleRate} Hz; the model takes ${spec.frameLength} (${hint})`);
  }
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (v - v !== 0) throw new DriftlineError("validation", `${input}: sample ${i} is ${v}: a clip's samples are finite numbers`);
  }
  return sampleRate === spec.sampleRate ? samples : resample(samples, sampleRate, spec.sampleRate);
}

/** What a clip sounds like, in numbers drift can be measured on. */
export interface AudioDescriptors {
  /** RMS level in dBFS (−120 for digital silence). */
  level: number;
  /** Share of neighbouring samples that change sign (a sample ≥ 0 counts as positive). */
  zeroCrossings: number;
  /** Share of samples at or above {@link CLIP_LEVEL} in magnitude. */
  clipped: number;
  /** Share of whole frames whose RMS is below {@link SILENCE_DBFS}. */
  silent: number;
  /** The clip's length, in seconds. */
  duration: number;
}

/** RMS level of `samples[from, to)` in dBFS, floored at −120. */
function levelOf(samples: Float32Array, from: number, to: number): number {
  let squares = 0;
  for (let i = from; i < to; i++) squares += samples[i]! * samples[i]!;
  const rms = to > from ? Math.sqrt(squares / (to - from)) : 0;
  return rms > 0 ? Math.max(FLOOR_DBFS, 20 * Math.log10(rms)) : FLOOR_DBFS;
}

/**
 * Descriptors of a clip as the model hears it (after resampling).
 *
 * @param samples - mono samples at the model's rate
 * @param spec - the model's rate and frame length
 */
export function audioDescriptors(samples: Float32Array, spec: AudioSpec): AudioDescriptors {
  const n = samples.length;
  let crossings = 0;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(samples[i]!) >= CLIP_LEVEL) clipped++;
    if (i > 0 && samples[i]! >= 0 !== samples[i - 1]! >= 0) crossings++;
  }
  const frames = Math.floor(n / spec.frameLength);
  let silent = 0;
  for (let f = 0; f < frames; f++) if (levelOf(samples, f * spec.frameLength, (f + 1) * spec.frameLength) < SILENCE_DBFS) silent++;
  return {
    level: levelOf(samples, 0, n),
    zeroCrossings: n > 1 ? crossings / (n - 1) : 0,
    clipped: n > 0 ? clipped / n : 0,
    silent: frames > 0 ? silent / frames : 0,
    duration: n / spec.sampleRate,
  };
}
