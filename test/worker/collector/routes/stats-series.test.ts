// GET /v1/stats/series answers each window of a range as GET /v1/stats over that window answers
// its traffic, errors, latency and performance, from one read of the stored rows.
import { describe, expect, it } from "vitest";
import type { StatsAnswer, StatsSeriesAnswer } from "../../../../protocol/api.ts";
import { ConfusionMatrix, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, expectError } from "../../registry-helpers.ts";

const MINUTE = 60_000;

describe("GET /v1/stats/series", async () => {
  const { model, version, token } = await liveModel("stats-series");
  const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
  const labelled = new ConfusionMatrix(["no", "yes"]);
  labelled.update(1, 1);
  labelled.update(1, 0);
  const reports = [0, 1, 1, 3].map((back, i) => ({
    ...makeReport(model, version, {
      client: `c-${i}`,
      start: minute - back * MINUTE,
      latencyMs: [i + 1, 10 * (i + 1)],
      backend: i % 2 ? "webgpu" : "wasm",
      segment: { backend: i % 2 ? "webgpu" : "wasm" },
      errors: { validation: i },
    }),
    ...(i === 1 && { confusion: toBase64(labelled.encode()) }),
  }));
  expect((await postReports(token, reports)).accepted).toHaveLength(4);
  await flush(model);

  const get = async <T>(path: string): Promise<T> => {
    const res = await call("GET", path, { token: BOOTSTRAP });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };

  it("answers each window as its own GET /v1/stats does, with and without a segment", async () => {
    const from = minute - 4 * MINUTE;
    const to = minute + MINUTE;
    for (const segment of ["", "&segment=backend:webgpu"]) {
      const series = await get<StatsSeriesAnswer>(`/v1/stats/series?model=${model}&from=${from}&to=${to}&step=${MINUTE}${segment}`);
      expect(series.windows).toHaveLength(5);
      const own = await Promise.all(series.windows.map((_, i) => get<StatsAnswer>(`/v1/stats?model=${model}&from=${from + i * MINUTE}&to=${from + (i + 1) * MINUTE}${segment}`)));
      expect(series).toEqual({
        model,
        version,
        role: "live",
        segment: segment.replace("&segment=", ""),
        baseline: null,
        windows: own.map(({ from, to, reports, rows, errors, error_rate, latency_p95_ms, latency, performance, estimated, skipped }) => ({
          from,
          to,
          reports,
          rows,
          errors,
          error_rate,
          latency_p95_ms,
          latency,
          performance,
          estimated,
          skipped,
        })),
      });
    }
    const [, , , minuteBefore, now] = (await get<StatsSeriesAnswer>(`/v1/stats/series?model=${model}&from=${from}&to=${to}&step=${MINUTE}`)).windows;
    expect([minuteBefore!.reports, minuteBefore!.errors, minuteBefore!.performance?.labelled, Object.keys(minuteBefore!.latency).sort()]).toEqual([2, { validation: 3 }, 2, ["wasm", "webgpu"]]);
    expect([now!.reports, now!.latency.wasm!.count]).toEqual([1, 3]);
  });

  it("refuses a series of more than 40 windows, and a version the model never had", async () => {
    expect(await expectError(await call("GET", `/v1/stats/series?model=${model}&from=0&to=${41 * MINUTE}&step=${MINUTE}`, { token: BOOTSTRAP }), 400, "validation")).toBe(
      "step: 41 windows between from and to, at most 40",
    );
    await expectError(await call("GET", `/v1/stats/series?model=${model}&version=${version + 5}&step=${MINUTE}&from=0&to=${MINUTE}`, { token: BOOTSTRAP }), 404, "not_found");
  });
});
