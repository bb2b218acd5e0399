import { valueStep } from "../protocol/blur.ts";
import { MAX_TARGET_STEP } from "../protocol/limits.ts";

/** How devices record a regression's labels (protocol/blur.ts `pairedLabel`): the output's `step` and `targets`. */
export interface TargetRecording {
  step: number;
  targets: { min: number; max: number };
}

/**
 * The step and range of a regression's targets. The step is the targets' own: the largest
 * whole multiple of the largest power of ten they are all multiples of (`valueStep`) by which
 * every target is more than the smallest — 0.5 for half-star ratings, 5 for prices in fives,
 * not 0.1 and 1, which would pair each of them with a value they never take (1 with 1.1, 5 with
 * 4) — nor 10^6 for prices in ten millions. At most {@link MAX_TARGET_STEP}, as an output's
 * step may be. Targets that are no power of ten's multiples may still be the smallest plus
 * multiples of a step: thirds, sevenths, hours counted in minutes ({@link latticeStep}).
 * Undefined without a step.
 *
 * @param targets - every target of the reference
 * @example
 * targetRecording([1, 1.5, 4.5]) // { step: 0.5, targets: { min: 1, max: 4.5 } }
 */
export function targetRecording(targets: readonly number[]): TargetRecording | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const t of targets) {
    min = Math.min(min, t);
    max = Math.max(max, t);
  }
  const ten = valueStep(targets);
  const lattice = latticeStep(targets, min, max);
  if (ten === undefined) return lattice === undefined ? undefined : { step: lattice, targets: { min, max } };
  let units = 0;
  for (const t of targets) units = gcd(units, Math.round((t - min) / ten));
  // 0.5 as 5 / 10, not 5 × 0.1 (0.5000000000000001 for 3 × 0.1 and the like)
  const step = units > 1 && units * ten <= MAX_TARGET_STEP ? (ten < 1 ? units / Math.round(1 / ten) : units * ten) : ten;
  // a wider one where the power of ten is only valueStep's tolerance: above 500 every value is
  // within 1e-9 of a multiple of 10^-6, thirds of 1,000 and up too
  return { step: lattice !== undefined && lattice > step * (1 + 1e-9) ? lattice : step, targets: { min, max } };
}

/**
 * The step of targets that are the smallest plus whole multiples of a step no power of ten is a
 * multiple of — 1/3 for means of three ratings, 1/7 for shares of a week's days, 1/60 for hours
 * counted in minutes: the closest two targets' distance, or a twelfth of it at most, that every
 * target's distance from the smallest is a whole multiple of to within 10^-6 of a step.
 * Undefined when there is none — measurements — or when it would be below 10^-6 or a 10^7th of
 * the range, or the targets take one value.
 *
 * @param targets - the targets
 * @param min - the smallest
 * @param max - the largest
 */
function latticeStep(targets: readonly number[], min: number, max: number): number | undefined {
  const range = max - min;
  // 64 units in the last place of the largest magnitude: two targets closer than that are one
  const rounding = 2 ** -46 * Math.max(Math.abs(min), Math.abs(max));
  const sorted = Float64Array.from(targets).sort();
  let closest = Infinity;
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! - sorted[i - 1]! > rounding) closest = Math.min(closest, sorted[i]! - sorted[i - 1]!);
  for (let m = 1; m <= 12 && closest < Infinity; m++) {
    // the range over the steps it holds: a step as exact as the range
    const step = range / Math.round((range * m) / closest);
    if (step < Math.max(1e-6, range / 1e7) || step > MAX_TARGET_STEP) return undefined;
    if (targets.every((t) => Math.abs((t - min) / step - Math.round((t - min) / step)) <= 1e-6)) return step;
  }
  return undefined;
}

/** The greatest common divisor of two whole numbers (`a` when `b` is 0). */
function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return Math.abs(a);
}
