import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chiSquaredPValue, jensenShannon, psi } from "../../../../protocol/drift/binned.ts";
import { trimGap, trimShares } from "../../../../protocol/drift/sender-trim.ts";
import { wasserstein1 } from "../../../../protocol/drift/wasserstein.ts";
import { seededRandom } from "../../../../protocol/seeded-random.ts";
import { NumericSketch } from "../../../../protocol/sketch/index.ts";
import { SENDER_TALLY_SIZE, SenderTally } from "../../../../collector/aggregates/sender-tally.ts";
import { Reader, Writer } from "../../../../protocol/sketch/codec.ts";

/** Shares from positive weights (some bins may be 0). */
const shares = (bins: number) =>
  fc
    .array(fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 10, noNaN: true })), { minLength: bins, maxLength: bins })
    .filter((w) => w.some((x) => x > 0))
    .map((w) => {
      const total = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / total);
    });

const chi2Statistic = (p: readonly number[], q: readonly number[]) => q.reduce((s, qi, i) => s + (p[i]! > 0 ? (qi - p[i]!) ** 2 / p[i]! : 0), 0);

describe("trimming one sender's share", () => {
  it("never leaves the bins further from the reference than the other senders' data is (PSI, JS, chi-squared)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }).chain((bins) => fc.tuple(shares(bins), shares(bins), shares(bins))),
        fc.oneof(fc.constant(0), fc.double({ min: 1e-9, max: 0.6, noNaN: true })),
        ([ref, honest, attacker], t) => {
          // the honest data only where the reference has mass, as a drift-free window would be
          const h = honest.map((x, i) => (ref[i]! > 0 ? x : 0));
          const hTotal = h.reduce((a, b) => a + b, 0);
          fc.pre(hTotal > 0);
          const hs = h.map((x) => x / hTotal);
          const mixed = hs.map((x, i) => (1 - t) * x + t * attacker[i]!);
          const trimmed = trimShares(ref, mixed, t);
          expect(trimmed.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          expect(psi(ref, trimmed)).toBeLessThanOrEqual(psi(ref, hs) + 1e-9);
          expect(jensenShannon(ref, trimmed)).toBeLessThanOrEqual(jensenShannon(ref, hs) + 1e-9);
          expect(chi2Statistic(ref, trimmed)).toBeLessThanOrEqual(chi2Statistic(ref, hs) + 1e-9);
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it("leaves shares alone when nothing is trimmed, and removes exactly an outlier's mass", () => {
    expect(trimShares([0.5, 0.5], [0.3, 0.7], 0)).toEqual([0.3, 0.7]);
    // 10 % of the current values in a bin the reference never saw: all of it goes
    expect(trimShares([0.5, 0.5, 0], [0.45, 0.45, 0.1], 0.1)).toEqual([0.5, 0.5, 0]);
    expect(
      chiSquaredPValue(
        [0.5, 0.5, 0],
        trimShares([0.5, 0.5, 0], [0.45, 0.45, 0.1], 0.1).map((s) => s * 900),
      ),
    ).toBe(1);
  });

  it("bounds a CDF gap by what the rest shows: |H − G| ≥ (|F − G| − t) / (1 − t)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        (g, h, a, t) => {
          const f = (1 - t) * h + t * a;
          expect(trimGap(Math.abs(f - g), t)).toBeLessThanOrEqual(Math.abs(h - g) + 1e-12);
        },
      ),
      { numRuns: 5000, seed: 11 },
    );
  });
});

describe("trimmed Wasserstein", () => {
  it("adds nothing for one sender's values at the far end of the float range, however many and merged where", () => {
    // the gap where only its values lie is its share less its share: before, rounding and the
    // sketch's rank error left ~1e-16 to 1e-3 of it, times ~3e38
    const random = seededRandom(20261206);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const reference = new NumericSketch();
    for (let i = 0; i < 2_000; i++) reference.update(normal());
    for (const reports of [20, 100, 500])
      for (const n of [1, 7, 50, 200, 333, 1_000, 5_000, 20_000])
        for (const at of [0, 0.5, 1]) {
          const honest = new NumericSketch();
          const all = new NumericSketch();
          const far = new NumericSketch();
          for (let i = 0; i < n; i++) far.update(random() < 0.5 ? 3e38 : -3e38);
          for (let j = 0; j < reports; j++) {
            if (j === Math.floor(at * reports)) all.merge(far);
            const part = new NumericSketch();
            for (let i = 0; i < 20; i++) part.update(normal());
            honest.merge(part);
            all.merge(part);
          }
          if (at === 1) all.merge(far);
          const alone = wasserstein1(reference.quantiles, honest.quantiles);
          expect(wasserstein1(reference.quantiles, all.quantiles, n / all.count), `${reports} reports, ${n} far values`).toBeLessThanOrEqual(alone);
        }
  });
});

describe("SenderTally", () => {
  it("bounds the heaviest sender from above however the data is split and merged", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 1000 })), { maxLength: 600 }), fc.integer({ min: 1, max: 8 }), (sends, parts) => {
        const truth = new Map<number, number>();
        const tallies = Array.from({ length: parts }, () => new SenderTally());
        sends.forEach(([sender, mass], i) => {
          truth.set(sender, (truth.get(sender) ?? 0) + mass);
          tallies[i % parts]!.add(sender, mass);
        });
        const merged = tallies.reduce((a, b) => a.merge(b), new SenderTally());
        expect(merged.weights.size).toBeLessThanOrEqual(SENDER_TALLY_SIZE);
        const total = sends.reduce((n, [, m]) => n + m, 0);
        const heaviest = Math.max(0, ...truth.values());
        expect(merged.heaviest()).toBeGreaterThanOrEqual(heaviest);
        // Misra–Gries: the error bound is at most total / (size + 1)
        expect(merged.slack).toBeLessThanOrEqual(total / (SENDER_TALLY_SIZE + 1) + 1e-9);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it("round-trips through its encoding", () => {
    const t = new SenderTally();
    for (let s = 0; s < 100; s++) t.add(s * 7919, 1 + (s % 13));
    const w = new Writer();
    t.write(w);
    const back = SenderTally.read(new Reader(w.bytes()));
    expect(back.slack).toBe(t.slack);
    expect([...back.weights]).toEqual([...t.weights]);
  });
});
