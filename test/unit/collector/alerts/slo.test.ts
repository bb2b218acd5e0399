// The objectives' values as alerts judge them, the heaviest sender left out (collector/alerts/slo.ts).
import { describe, expect, it } from "vitest";
import { trimmedQuantile } from "../../../../collector/alerts/slo.ts";
import { seededRandom } from "../../../../protocol/seeded-random.ts";
import { QuantileSketch } from "../../../../protocol/sketch/index.ts";

describe("trimmedQuantile", () => {
  it("stays below the other senders' quantile when one sender's calls lie at the far end, however many", () => {
    // q·(1 − t) lies within the other calls by (1 − q)·(1 − t) only: with t = 0.9 that is 0.1 % of
    // the calls for p99, less than the sketch's rank error, and the quantile was one of 3e38 ms
    const random = seededRandom(5);
    for (const honest of [200, 1_000, 10_000])
      for (const ratio of [0.5, 1, 3, 9, 19])
        for (const q of [0.95, 0.99])
          for (const first of [true, false]) {
            const all = new QuantileSketch();
            const far = new QuantileSketch();
            for (let i = 0; i < honest * ratio; i++) far.update(3e38);
            if (first) all.merge(far);
            for (let j = 0; j < honest / 100; j++) {
              const part = new QuantileSketch();
              for (let i = 0; i < 100; i++) part.update(1 + random() * 4);
              all.merge(part);
            }
            if (!first) all.merge(far);
            expect(trimmedQuantile(all, q, honest * ratio), `${honest} calls beside ${honest * ratio}, p${q * 100}`).toBeLessThanOrEqual(5);
          }
  });
});
