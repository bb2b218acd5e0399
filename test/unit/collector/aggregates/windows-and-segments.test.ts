// The read path of drift queries: which stored windows tile a range, and which segment rows a report lands in.
import { describe, expect, it } from "vitest";
import { parseSegment, segmentSlices } from "../../../../collector/aggregates/segments.ts";
import { canonicalSegment } from "../../../../protocol/segment.ts";
import { WINDOW_MS, cover, windowStart } from "../../../../collector/aggregates/windows.ts";

const MIN = WINDOW_MS.minute;
const HOUR = WINDOW_MS.hour;
const DAY = WINDOW_MS.day;
const T0 = Date.UTC(2026, 0, 1);

/** Every minute of [from, to) covered exactly once by `ranges`. */
function minutesCovered(ranges: ReturnType<typeof cover>["ranges"]): number[] {
  return ranges.flatMap((r) => {
    const out: number[] = [];
    for (let t = r.from; t < r.to; t += WINDOW_MS[r.granularity]) {
      expect(windowStart(t, r.granularity)).toBe(t);
      for (let m = t; m < t + WINDOW_MS[r.granularity]; m += MIN) out.push(m);
    }
    return out;
  });
}

describe("cover", () => {
  it.each([
    ["inside one hour", T0 + 5 * MIN, T0 + 17 * MIN],
    ["across an hour", T0 + 50 * MIN, T0 + HOUR + 10 * MIN],
    ["whole hours and ragged ends", T0 + 30 * MIN, T0 + 5 * HOUR + 1],
    ["across days", T0 + 23 * HOUR + 30 * MIN, T0 + 3 * DAY + HOUR],
    ["exact days", T0, T0 + 2 * DAY],
  ])("tiles %s exactly once with the fewest windows", (_, from, to) => {
    const { ranges, from: f, to: t } = cover(from, to);
    expect(f).toBe(windowStart(from, "minute"));
    expect(t).toBe(windowStart(to + MIN - 1, "minute"));
    const minutes = minutesCovered(ranges);
    expect(minutes).toHaveLength((t - f) / MIN);
    expect(new Set(minutes).size).toBe(minutes.length);
    expect(Math.min(...minutes)).toBe(f);
    expect(ranges.length).toBeLessThanOrEqual(5);
  });

  it("uses day rows for whole days", () => {
    const { ranges } = cover(T0 + 23 * HOUR, T0 + 3 * DAY + HOUR);
    expect(ranges).toContainEqual({ granularity: "day", from: T0 + DAY, to: T0 + 3 * DAY });
  });

  it("reads coarser windows where finer ones are past their retention, without overlap", () => {
    const retention = { minutesSince: T0 + 10 * DAY + 5 * HOUR, hoursSince: T0 + 8 * DAY };
    const { ranges, from, to } = cover(T0 + 6 * DAY + 3 * HOUR + 7 * MIN, T0 + 10 * DAY + 6 * HOUR + 30 * MIN, undefined, retention);
    expect(from).toBe(T0 + 6 * DAY);
    expect(to).toBe(T0 + 10 * DAY + 6 * HOUR + 30 * MIN);
    for (const r of ranges) {
      if (r.granularity === "minute") expect(r.from).toBeGreaterThanOrEqual(retention.minutesSince);
      if (r.granularity === "hour") expect(r.from).toBeGreaterThanOrEqual(retention.hoursSince);
    }
    const minutes = minutesCovered(ranges);
    expect(new Set(minutes).size).toBe(minutes.length);
    expect(minutes).toHaveLength((to - from) / MIN);
  });

  it("rounds out to one size when asked", () => {
    expect(cover(T0 + 5 * MIN, T0 + 17 * MIN, "hour")).toEqual({ ranges: [{ granularity: "hour", from: T0, to: T0 + HOUR }], from: T0, to: T0 + HOUR });
  });
});

describe("segments", () => {
  it("canonicalises by sorted key and escapes separators", () => {
    expect(canonicalSegment({ backend: "wasm", appVersion: "4.2" })).toBe("appVersion:4.2,backend:wasm");
    expect(canonicalSegment({ k: "a,b:c%" })).toBe("k:a%2Cb%3Ac%25");
    expect(parseSegment("backend:wasm,appVersion:4.2")).toBe("appVersion:4.2,backend:wasm");
    expect(parseSegment("")).toBe("");
    expect(() => parseSegment("backend")).toThrow();
    expect(() => parseSegment("a:1,a:2")).toThrow();
    expect(parseSegment("toString:y")).toBe("toString:y"); // a key named like a member of Object.prototype
    // the canonical form parses to itself: , : % escaped in values; a % of nothing escaped stays
    const canonical = canonicalSegment({ region: "Paris, FR", tag: "a:b 50%" });
    expect(canonical).toBe("region:Paris%2C FR,tag:a%3Ab 50%25");
    expect(parseSegment(canonical)).toBe(canonical);
    expect(parseSegment("tag:50%")).toBe("tag:50%25");
  });

  it("puts each report in the total, one row per pair, and its full combination", () => {
    expect(segmentSlices("")).toEqual([""]);
    expect(segmentSlices("backend:wasm")).toEqual(["", "backend:wasm"]);
    expect(segmentSlices("appVersion:4.2,backend:wasm")).toEqual(["", "appVersion:4.2", "backend:wasm", "appVersion:4.2,backend:wasm"]);
  });
});
