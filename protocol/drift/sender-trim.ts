import { EMPTY_BIN_SHARE } from "./binned.ts";

/**
 * Trimming one sender's share off the current side of a comparison, so that no one sender can
 * make a feature drift. If a share `t` of the current values may come from one sender, the
 * current distribution is F = (1 − t)·H + t·A with H the rest and A anything; each function
 * here bounds what H alone would show, whatever A is:
 *
 * - a CDF gap |F − G| ≥ x gives |H − G| ≥ (x − t) / (1 − t) ({@link trimGap}: KS, Wasserstein);
 * - bin shares are trimmed towards the reference by capping their ratio to it
 *   ({@link trimShares}), which removes the mass of t that brings them closest to it for every
 *   f-divergence (PSI, Jensen–Shannon, chi-squared).
 *
 * So the trimmed statistic is never above the one of the other senders' data: an attacker
 * can add at most what that data shows. docs/security.md says why and how much power it costs.
 */

/**
 * Whether a feature's drift was judged without its heaviest sender: it has values in the window,
 * and not all of them may be that sender's (`sender_share` 1 leaves no verdict). The dataset
 * drift share is over these features.
 *
 * @param f - the feature's drift
 */
export const judgedWithoutHeaviest = (f: { count: number; sender_share: number }): boolean => f.count > 0 && f.sender_share < 1;

/**
 * What a trimmed statistic also leaves out besides the trimmed share: the current sketch's rank
 * error (≤ 0.76 % measured, protocol/README.md) and rounding. Where only the trimmed sender's
 * values lie (past the reference and everyone else's values) a CDF gap is that sender's share
 * less its share: zero, but for those; times the distance to the far end of the float range a
 * sender's values can lie at, that was a normed Wasserstein of 1e22 (protocol/drift/wasserstein.ts),
 * and a mean call latency of 1e34 ms (collector/alerts/slo.ts `clientThroughput`).
 */
export const TRIM_RANK_ERROR = 0.01;

/** Sums within this of 1 are 1. */
const ROUNDING = 1e-12;

/**
 * A CDF gap with a share `t` of the current side trimmed: max(0, gap − t) / (1 − t).
 *
 * @param gap - |F(x) − G(x)| at some x
 * @param t - the trimmed share, in [0, 1)
 */
export function trimGap(gap: number, t: number): number {
  return t > 0 ? Math.max(0, gap - t) / (1 - t) : gap;
}

/**
 * Current bin shares with a share `t` removed where it brings them closest to the reference:
 * q'ᵢ = min(qᵢ / (1 − t), λ·pᵢ), with λ such that they sum to 1. Mass in bins the reference
 * never saw goes first. When more than `t` lies there, the rest of it stays (spread as it was).
 *
 * @param reference - reference share per bin (sums to 1)
 * @param current - current share per bin (sums to 1)
 * @param t - the trimmed share, in [0, 1)
 * @example
 * trimShares([0.5, 0.5], [0.4, 0.6], 0.2) // [0.5, 0.5]
 */
export function trimShares(reference: readonly number[], current: readonly number[], t: number): number[] {
  if (t <= 0) return [...current];
  const scaled = current.map((q) => q / (1 - t));
  const seen = reference.map((_p, i) => i).filter((i) => reference[i]! > 0);
  const seenMass = seen.reduce((sum, i) => sum + scaled[i]!, 0);
  if (seenMass < 1 - ROUNDING) {
    // more than t fell where the reference has nothing: keep what it has, spread the rest there
    const unseenMass = scaled.reduce((a, b) => a + b, 0) - seenMass;
    const spread = (1 - seenMass) / unseenMass;
    return withoutSlivers(scaled.map((q, i) => (reference[i]! > 0 ? q : q * spread)));
  }
  // exactly t fell where the reference has nothing: it all goes
  if (seenMass <= 1 + ROUNDING) return withoutSlivers(scaled.map((q, i) => (reference[i]! > 0 ? q / seenMass : 0)));
  // λ: Σ min(aᵢ, λ·pᵢ) = 1, walking the bins by ratio aᵢ / pᵢ from the smallest
  const byRatio = seen.sort((i, j) => scaled[i]! / reference[i]! - scaled[j]! / reference[j]!);
  let below = 0;
  let above = byRatio.reduce((sum, i) => sum + reference[i]!, 0);
  let lambda = 1 / above;
  for (const i of byRatio) {
    lambda = (1 - below) / above;
    if (lambda <= scaled[i]! / reference[i]!) break;
    below += scaled[i]!;
    above -= reference[i]!;
  }
  return withoutSlivers(current.map((_q, i) => (reference[i]! > 0 ? Math.min(scaled[i]!, lambda * reference[i]!) : 0)));
}

/**
 * Shares with those below {@link EMPTY_BIN_SHARE} made 0, renormalised. PSI and JS fill empty
 * bins with that share (as Evidently does), which makes a sliver of a share weigh more than
 * none at all; trimming can leave such slivers of a sender's mass where the rest has none.
 */
function withoutSlivers(shares: number[]): number[] {
  const kept = shares.map((s) => (s >= EMPTY_BIN_SHARE ? s : 0));
  const total = kept.reduce((a, b) => a + b, 0);
  return total > 0 ? kept.map((s) => s / total) : shares;
}
