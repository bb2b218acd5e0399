import { describe, expect, it } from "vitest";
import { CombinationCap } from "../../../../collector/ingest/combination-cap.ts";
import { FrequentValues } from "../../../../collector/ingest/frequent-values.ts";
import { OTHER_COMBINATION, parseSegment } from "../../../../collector/aggregates/segments.ts";
import { canonicalSegment } from "../../../../protocol/segment.ts";

describe("CombinationCap", () => {
  it("keeps the first combinations of a window and folds the rest into other", () => {
    const cap = new CombinationCap(2);
    expect(cap.slices("a:1,b:1", "minute|0")).toEqual(["", "a:1,b:1"]);
    expect(cap.slices("a:2,b:2", "minute|0")).toEqual(["", "a:2,b:2"]);
    expect(cap.slices("a:3,b:3", "minute|0")).toEqual(["", "a:3", "b:3", OTHER_COMBINATION]);
    // one already kept stays kept; another window has its own room
    expect(cap.capCombination("a:1,b:1", "minute|0")).toBe("a:1,b:1");
    expect(cap.capCombination("a:3,b:3", "minute|60000")).toBe("a:3,b:3");
  });

  it("never folds the unsliced total or single pairs", () => {
    const cap = new CombinationCap(0);
    expect(cap.slices("", "w")).toEqual([""]);
    expect(cap.slices("a:1", "w")).toEqual(["", "a:1"]);
    expect(cap.capCombination("a:1", "w")).toBe("a:1");
  });

  it("bounds the rows of a 300-combination flood per window to limit + 1 combinations", () => {
    const cap = new CombinationCap(100);
    const rows = new Set<string>();
    for (let i = 0; i < 300; i++) for (const g of ["minute|0", "hour|0", "day|0"]) rows.add(`${g}|${cap.capCombination(canonicalSegment({ a: `x${i}`, b: `y${i}` }), g)}`);
    expect(rows.size).toBe(3 * 101);
  });

  it("remembers at most 512 windows", () => {
    const cap = new CombinationCap(1);
    cap.capCombination("a:1,b:1", "w0");
    for (let i = 1; i <= 512; i++) cap.capCombination("a:1,b:1", `w${i}`);
    // w0 was forgotten: it starts counting again
    expect(cap.capCombination("a:2,b:2", "w0")).toBe("a:2,b:2");
    expect(cap.capCombination("a:2,b:2", "w512")).toBe(OTHER_COMBINATION);
  });

  it("is what ?segment=other reads", () => {
    expect(parseSegment("other")).toBe(OTHER_COMBINATION);
  });
});

describe("FrequentValues", () => {
  it("keeps a frequent value through a flood of values seen once, and never overcounts", () => {
    const f = new FrequentValues(3);
    for (let i = 0; i < 1000; i++) {
      f.add(`junk-${i}`);
      if (i % 2 === 0) f.add("real");
    }
    // 500 of 1,500 items: more than 1,500 / (3 + 1), so kept, undercounted by at most 375
    const top = f.top();
    expect(top[0]![0]).toBe("real");
    expect(top[0]![1]).toBeLessThanOrEqual(500);
    expect(top[0]![1]).toBeGreaterThanOrEqual(500 - 1500 / 4);
    for (const [item, n] of top.slice(1)) if (item.startsWith("junk")) expect(n).toBe(1);
  });

  it("forgets a value on request", () => {
    const f = new FrequentValues(2);
    f.add("a");
    f.add("a");
    f.delete("a");
    expect(f.top()).toEqual([]);
  });
});
