import { describe, expect, it } from "vitest";
import { chiSquaredPValue, jensenShannon, psi } from "../../../../protocol/drift/binned.ts";
import { chiSquaredSf, gammaQ, logGamma } from "../../../../protocol/drift/gamma.ts";
import { kolmogorovSf, ksPValue } from "../../../../protocol/drift/kolmogorov.ts";

// Expected values from scipy 1.10 (special.gammaincc, stats.kstwobign.sf, stats.chi2.sf).
const GAMMA_Q: [number, number, number][] = [
  [0.5, 0.1, 0.6547208460185768],
  [1, 2, 0.1353352832366127],
  [2.5, 3, 0.30621891841327875],
  [4.5, 20, 7.598525229464264e-6],
  [50, 40, 0.9296649333406051],
  [100, 130, 0.002750408367306518],
  [0.5, 30, 9.485737571073857e-15],
];
const KOLMOGOROV: [number, number][] = [
  [0.3, 0.9999906941986655],
  [0.8, 0.5441424115741981],
  [1.0, 0.26999967167735456],
  [1.17, 0.12939004218561884],
  [1.19, 0.11774229287977166],
  [1.5, 0.022217962616525127],
  [2.5, 7.453306344157342e-6],
];
const CHI2: [number, number, number][] = [
  [3.84, 1, 0.05004352124870519],
  [20, 9, 0.017912404529843298],
  [200, 5, 2.8406228986415534e-41],
  [0.5, 3, 0.9188914116546758],
];

const close = (got: number, want: number, rel = 1e-9) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want) + 1e-300);

describe("special functions", () => {
  it("log-gamma matches factorials and Γ(1/2)", () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    close(Math.exp(logGamma(6)), 120, 1e-12);
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
    close(logGamma(101), 363.73937555556347, 1e-12);
  });

  it.each(GAMMA_Q)("Q(%d, %d) matches scipy's gammaincc", (a, x, want) => close(gammaQ(a, x), want));

  it.each(KOLMOGOROV)("kolmogorov survival at %d matches scipy's kstwobign.sf", (l, want) => close(kolmogorovSf(l), want, 1e-8));

  it.each(CHI2)("chi-squared survival of %d with %d dof matches scipy", (s, df, want) => close(chiSquaredSf(s, df), want));

  it("gives the edge cases sensible values", () => {
    expect(gammaQ(2, 0)).toBe(1);
    expect(chiSquaredSf(Infinity, 3)).toBe(0);
    expect(kolmogorovSf(0)).toBe(1);
    expect(ksPValue(0, 100, 100)).toBe(1);
    expect(Number.isNaN(ksPValue(NaN, 10, 10))).toBe(true);
    expect(Number.isNaN(ksPValue(0.1, 0, 10))).toBe(true);
  });
});

describe("binned metrics", () => {
  const even = Array(10).fill(0.1);

  it("are zero for identical distributions", () => {
    expect(psi(even, even)).toBe(0);
    expect(jensenShannon(even, even)).toBe(0);
    expect(
      chiSquaredPValue(
        even,
        even.map((s) => s * 1000),
      ),
    ).toBeCloseTo(1, 12);
  });

  it("fill empty bins instead of going infinite", () => {
    const shifted = [0, 0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2];
    expect(Number.isFinite(psi(even, shifted))).toBe(true);
    expect(jensenShannon(even, shifted)).toBeGreaterThan(0);
    expect(jensenShannon([1, 0], [0, 1])).toBeLessThanOrEqual(Math.sqrt(Math.LN2));
  });

  it("chi-squared gives p 0 when the current has a bin the reference never had", () => {
    expect(chiSquaredPValue([0.5, 0.5, 0], [40, 50, 10])).toBe(0);
    expect(Number.isNaN(chiSquaredPValue([1, 0], [10, 0]))).toBe(true);
  });
});
