import { describe, expect, it } from "vitest";
import { QuantileSketch } from "../../../protocol/sketch/index.ts";
import { rng } from "./datasets.ts";

/** A sketch of `parts` merged sketches of 35 values each (as an aggregator builds them). */
function merged(parts: number, seed: number): QuantileSketch {
  const r = rng(seed);
  const into = new QuantileSketch();
  for (let p = 0; p < parts; p++) {
    const s = new QuantileSketch();
    for (let i = 0; i < 35; i++) s.update(Math.exp(r() * 3));
    into.merge(s);
  }
  return into;
}

const allocated = (s: QuantileSketch) => s.buf_.length + s.levels_.reduce((n, l) => n + l.length, 0);

describe("QuantileSketch.shrink", () => {
  it("keeps the items and lets go of the arrays' growth slack", () => {
    const s = merged(300, 1);
    const before = s.encode();
    const grown = allocated(s);
    s.shrink();
    expect(s.encode()).toEqual(before);
    expect(allocated(s)).toBeLessThan(grown / 2);
  });

  it("leaves later updates and merges as they would have been", () => {
    const shrunk = merged(300, 2);
    const twin = merged(300, 2);
    shrunk.shrink();
    const r = rng(3);
    for (let i = 0; i < 5_000; i++) {
      const x = r() * 100;
      shrunk.update(x);
      twin.update(x);
      if (i % 1_000 === 0) {
        shrunk.shrink();
        shrunk.merge(merged(3, i));
        twin.merge(merged(3, i));
      }
    }
    expect(shrunk.encode()).toEqual(twin.encode());
  });

  it("shrinks an empty sketch that still takes updates", () => {
    const s = new QuantileSketch();
    s.shrink();
    s.update(1);
    s.update(2);
    expect(s.n).toBe(2);
    expect(s.encode()).toEqual(
      (() => {
        const t = new QuantileSketch();
        t.update(1);
        t.update(2);
        return t.encode();
      })(),
    );
  });
});
