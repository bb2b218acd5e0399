/**
 * The limiting Kolmogorov distribution: P(√n·D > λ) as n → ∞, i.e. scipy's
 * `kstwobign.sf(λ)` (= `scipy.special.kolmogorov(λ)`).
 *
 * @param lambda - √n·D
 */
export function kolmogorovSf(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0) return 1;
  // the alternating series converges slowly for small λ; there the theta-function form is exact and fast
  if (lambda < 1.18) {
    const w = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let k = 1; k <= 20; k += 2) sum += Math.exp(-k * k * w);
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
  }
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * The two-sample KS p-value by the asymptotic Kolmogorov distribution with the effective
 * sample size n·m/(n+m): `kstwobign.sf(√(n·m/(n+m)) · d)`. scipy's `ks_2samp(method="asymp")`
 * differs only in using the finite-n `kstwo` at round(n·m/(n+m)); the two agree to a few
 * percent of p once that size passes ~100 (see docs/drift.md).
 *
 * @param d - the KS statistic
 * @param n - size of one sample
 * @param m - size of the other
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (Number.isNaN(d) || !(n > 0) || !(m > 0)) return NaN;
  return kolmogorovSf(Math.sqrt((n * m) / (n + m)) * d);
}
