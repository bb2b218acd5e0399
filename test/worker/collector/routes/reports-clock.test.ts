// Reports dated by a client clock that is off: the batch's sentAt (the client's time when it
// sent them) lets the collector file them by its own clock (collector/ingest/client-clock.ts).
import { describe, expect, it } from "vitest";
import { flush, liveModel, makeReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call } from "../../registry-helpers.ts";

const DAY = 86_400_000;

/** Rows the stable version counted in the hour around `at`. */
async function rowsAround(model: string, version: number, at: number): Promise<number> {
  const res = await call("GET", `/v1/stats?model=${model}&version=${version}&from=${at - 1_800_000}&to=${at + 1_800_000}`, { token: BOOTSTRAP });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { rows: number }).rows;
}

describe("POST /v1/reports from a client whose clock is off", () => {
  it("files the reports of a clock three days behind by the collector's time, not refused as too old", async () => {
    const { model, version, token } = await liveModel("clock");
    const now = Date.now();
    const behind = now - 3 * DAY;
    // the device dated its reports and the batch by its own clock: three days behind
    const reports = [makeReport(model, version, { client: "c1", start: behind - 60_000 }), makeReport(model, version, { client: "c2", start: behind - 120_000 })];
    const res = await call("POST", "/v1/reports", { token, json: { reports, sentAt: behind } });
    const answer = (await res.json()) as { accepted: string[]; rejected: { message: string }[] };
    expect(answer.rejected).toEqual([]);
    expect(answer.accepted).toHaveLength(2);
    await flush(model);
    // three rows each, a minute or two before the collector's now
    expect(await rowsAround(model, version, now)).toBe(6);
  });

  it("takes the times of a clock a few seconds off, and of a batch without sentAt, as they are", async () => {
    const { model, version, token } = await liveModel("clockok");
    const start = Date.now() - 2 * 3_600_000;
    const res = await call("POST", "/v1/reports", { token, json: { reports: [makeReport(model, version, { client: "c1", start })], sentAt: Date.now() - 30_000 } });
    expect(((await res.json()) as { accepted: string[] }).accepted).toHaveLength(1);
    await flush(model);
    expect(await rowsAround(model, version, start)).toBe(3);
  });
});
