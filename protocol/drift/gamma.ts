/**
 * The gamma function family the chi-squared p-value needs, in double precision.
 * Lanczos for log Γ; series and Lentz continued fraction for the regularised incomplete gamma
 * (Numerical Recipes §6.2), switching at x = a + 1 where each converges fastest.
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/**
 * ln Γ(x) for x > 0 (relative error ~1e-15).
 *
 * @param x - a positive number
 */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * The regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), i.e. the survival function
 * of a Gamma(a) variable at x.
 *
 * @param a - shape, > 0
 * @param x - point, ≥ 0
 * @example
 * gammaQ(1, 2) // e^-2
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/** P(a, x) by its power series. */
function lowerSeries(a: number, x: number): number {
  let ap = a;
  let term = 1 / a;
  let sum = term;
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz). */
function upperFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/**
 * The chi-squared survival function: P(X ≥ statistic) for X ~ χ²(df).
 *
 * @param statistic - the chi-squared statistic
 * @param df - degrees of freedom, ≥ 1
 */
export function chiSquaredSf(statistic: number, df: number): number {
  if (Number.isNaN(statistic) || !(df >= 1)) return NaN;
  return gammaQ(df / 2, Math.max(0, statistic) / 2);
}
