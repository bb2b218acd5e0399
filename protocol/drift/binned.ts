import { chiSquaredSf } from "./gamma.ts";

/**
 * What replaces an empty bin's share before PSI and Jensen–Shannon, as Evidently does
 * (`fill_zeroes`): without it one empty bin makes PSI infinite.
 */
export const EMPTY_BIN_SHARE = 0.0001;

/** Shares with every zero replaced by {@link EMPTY_BIN_SHARE}. */
function filled(shares: readonly number[]): number[] {
  return shares.map((s) => (s > 0 ? s : EMPTY_BIN_SHARE));
}

/**
 * Population stability index Σ (c − r)·ln(c / r) over bins, empty bins filled
 * (Evidently's `psi`).
 *
 * @param reference - reference share per bin (sums to 1)
 * @param current - current share per bin (sums to 1)
 */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const r = filled(reference);
  const c = filled(current);
  return r.reduce((sum, ri, i) => sum + (c[i]! - ri) * Math.log(c[i]! / ri), 0);
}

/**
 * Jensen–Shannon distance (natural log, so in [0, √ln 2]) between two bin distributions,
 * empty bins filled and both renormalised — `scipy.spatial.distance.jensenshannon` as
 * Evidently calls it.
 *
 * @param reference - reference share per bin
 * @param current - current share per bin
 */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const p = normalised(filled(reference));
  const q = normalised(filled(current));
  let divergence = 0;
  p.forEach((pi, i) => {
    const qi = q[i]!;
    const mi = (pi + qi) / 2;
    divergence += pi * Math.log(pi / mi) + qi * Math.log(qi / mi);
  });
  return Math.sqrt(Math.max(0, divergence / 2));
}

function normalised(xs: number[]): number[] {
  const total = xs.reduce((a, b) => a + b, 0);
  return xs.map((x) => x / total);
}

/**
 * Pearson's chi-squared goodness-of-fit p-value of current counts against reference shares
 * scaled to the current total (Evidently's `chi_stat_test`, scipy's `chisquare`). Bins empty
 * on both sides are left out, as Evidently only keys values that occur; a bin the reference
 * never saw but the current has makes the statistic infinite and p 0.
 *
 * @param referenceShares - reference share per bin
 * @param currentCounts - current count per bin
 * @returns the p-value, NaN with fewer than two bins or no current data
 */
export function chiSquaredPValue(referenceShares: readonly number[], currentCounts: readonly number[]): number {
  const n = currentCounts.reduce((a, b) => a + b, 0);
  const refTotal = referenceShares.reduce((a, b) => a + b, 0);
  if (!(n > 0) || !(refTotal > 0)) return NaN;
  let statistic = 0;
  let bins = 0;
  referenceShares.forEach((share, i) => {
    const observed = currentCounts[i]!;
    const expected = (share / refTotal) * n;
    if (expected <= 0 && observed <= 0) return;
    bins++;
    statistic += expected > 0 ? ((observed - expected) * (observed - expected)) / expected : Infinity;
  });
  if (bins < 2) return NaN;
  return chiSquaredSf(statistic, bins - 1);
}
