import { describe, expect, it } from "vitest";
import { filingWindow } from "../../../../collector/aggregates/rows.ts";
import { cover } from "../../../../collector/aggregates/windows.ts";
import { redateStaleCarrier } from "../../../../collector/ingest/stale-carrier.ts";
import { ErrorCounts, decodeErrorCounts, fromBase64, toBase64 } from "../../../../protocol/sketch/index.ts";
import type { Report } from "../../../../protocol/schema/report.ts";

const DAY = 86_400_000;

/** A carrier of `dropped` rows (and two session errors) over 30 s starting at `start`. */
function carrier(start: number, dropped: number): Report {
  const errors = new ErrorCounts();
  errors.update("dropped", dropped);
  errors.update("session", 2);
  return { id: "c", model: "m", version: 1, role: "live", client: "away", start, end: start + 30_000, segment: {}, rows: 0, sampleRate: 1, features: {}, errors: toBase64(errors.encode()) };
}

describe("redateStaleCarrier", () => {
  // before noon and after it: after noon the last 24 hours' midpoint is already in today
  for (const hour of [1, 11, 13, 23]) {
    it(`files a carrier of 3 days back in yesterday's day row, which a range of the last 2 days reads, at ${hour}:00 UTC`, () => {
      const now = Date.UTC(2026, 11, 5, hour, 17);
      const moved = redateStaleCarrier(carrier(now - 3 * DAY, 5_000), now);
      expect(filingWindow(moved.start, moved.end)).toEqual({ granularity: "day", windowStart: Date.UTC(2026, 11, 4) });
      expect(cover(now - 2 * DAY, now).ranges).toContainEqual({ granularity: "day", from: Date.UTC(2026, 11, 4), to: Date.UTC(2026, 11, 5) });
      expect([...decodeErrorCounts(fromBase64(moved.errors ?? "")).counts]).toEqual([["dropped", 5_000]]);
    });
  }

  it("leaves a carrier within the age bound, and an old report with rows, as they are", () => {
    const now = Date.UTC(2026, 11, 5, 13);
    const recent = carrier(now - DAY, 5);
    expect(redateStaleCarrier(recent, now)).toBe(recent);
    const withRows = { ...carrier(now - 3 * DAY, 5), rows: 1 };
    expect(redateStaleCarrier(withRows, now)).toBe(withRows);
  });

  it("files a carrier of up to 34 days back (a device away for weeks) and leaves an older one as it is, to be refused by age: its id may be forgotten", () => {
    const now = Date.UTC(2026, 11, 5, 13);
    expect(redateStaleCarrier(carrier(now - 34 * DAY, 5), now).start).toBe(Date.UTC(2026, 11, 4));
    const older = carrier(now - 34 * DAY - 1, 5);
    expect(redateStaleCarrier(older, now)).toBe(older);
  });
});
