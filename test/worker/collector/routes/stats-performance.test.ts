// Labels joined on the devices reach the collector only as a confusion matrix (classification)
// or a residual sketch (regression); /v1/stats turns them into accuracy, precision, recall and F1,
// beside the baseline the profile recorded on the reference data; without labels, the prediction
// sketches' confidence bins and the profile's fit give an estimate (protocol/performance-estimate.ts).
import { describe, expect, it } from "vitest";
import { ConfusionMatrix, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import type { StatsAnswer } from "../../../../protocol/api.ts";
import { flush, liveModel, makeReport, postReports, publishManifest, publishWithEstimation } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, manifestFor, unique } from "../../registry-helpers.ts";

describe("performance from on-device labels", () => {
  it("merges confusion matrices across reports into accuracy and per-class recall", async () => {
    const { model, version, token } = await liveModel("perf");
    const matrices = [
      [
        ["no", "no", 6],
        ["yes", "yes", 2],
        ["yes", "no", 2],
      ],
      [
        ["no", "no", 3],
        ["no", "yes", 1],
        ["yes", "yes", 6],
      ],
    ] as const;
    const start = Date.now();
    const reports = matrices.map((cells, i) => {
      const m = new ConfusionMatrix(["no", "yes"]);
      for (const [actual, predicted, n] of cells) for (let j = 0; j < n; j++) m.update(actual === "yes" ? 1 : 0, predicted === "yes" ? 1 : 0);
      return { ...makeReport(model, version, { client: `c-${i}`, start }), confusion: toBase64(m.encode()) };
    });
    expect((await postReports(token, reports)).accepted).toHaveLength(2);
    await flush(model);
    const res = await call("GET", `/v1/stats?model=${model}&from=${start - 60_000}&to=${start + 60_000}`, { token: BOOTSTRAP });
    const stats = (await res.json()) as StatsAnswer;
    const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
    expect(stats.performance).toEqual({
      labelled: 20,
      accuracy: 17 / 20,
      precision: { no: 9 / 11, yes: 8 / 9 },
      recall: { no: 9 / 10, yes: 8 / 10 },
      f1: { no: f1(9 / 11, 9 / 10), yes: f1(8 / 9, 8 / 10) },
    });
    expect(stats.baseline).toBeNull();
  });

  it("answers 404 for a version the model never had, as /v1/drift does, not zeros", async () => {
    const { model, version } = await liveModel("perf-missing");
    for (const route of ["stats", "drift"]) {
      const res = await call("GET", `/v1/${route}?model=${model}&version=${version + 6}`, { token: BOOTSTRAP });
      expect(res.status, route).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`model "${model}" has no version ${version + 6}`);
    }
    expect((await call("GET", `/v1/stats?model=${model}&version=${version}`, { token: BOOTSTRAP })).status).toBe(200);
  });

  it("shows the baseline of a profile made with --target beside live performance", async () => {
    const model = unique("perf-base");
    const baseline = {
      kind: "classification" as const,
      labelled: 500,
      accuracy: 0.9,
      precision: { no: 0.9, yes: 0.9 },
      recall: { no: 0.9, yes: 0.9 },
      f1: { no: 0.9, yes: 0.9 },
      roc_auc: 0.95,
      log_loss: 0.3,
      calibration: { confidence: [0.95], accuracy: [0.9], count: [500] },
    };
    await publishManifest(model, (sha, size) => {
      const m = manifestFor(model, sha, size);
      m.profile.performance = baseline;
      return m;
    });
    const res = await call("GET", `/v1/stats?model=${model}`, { token: BOOTSTRAP });
    expect(((await res.json()) as StatsAnswer).baseline).toEqual(baseline);
  });

  it("estimates performance without labels from the prediction sketches and the profile's fit, with its band", async () => {
    const model = unique("perf-est");
    const version = await publishWithEstimation(model, [0.8, 0.5], { rows: 100, accuracy: 0.02, f1: { no: 0.03, yes: null } });
    const { token } = await createKey("default", "ingest");
    const start = Date.now();
    // every row predicted "no" with score 0.7: right 80 % of the time, as the curve says
    const reports = [0, 1].map((i) => makeReport(model, version, { client: `c-${i}`, start, tenure: Array.from({ length: 10 }, (_, j) => j) }));
    expect((await postReports(token, reports)).accepted).toHaveLength(2);
    await flush(model);
    const res = await call("GET", `/v1/stats?model=${model}&from=${start - 60_000}&to=${start + 60_000}`, { token: BOOTSTRAP });
    const stats = (await res.json()) as StatsAnswer;
    expect(stats.performance).toBeNull();
    const half = 3 * 0.02 * Math.sqrt(100 / 20);
    const halfF1 = 3 * 0.03 * Math.sqrt(100 / 20);
    const f1No = (2 * 0.8) / 1.8;
    expect(stats.estimated).toEqual({
      rows: 20,
      accuracy: expect.closeTo(0.8, 12),
      precision: { no: expect.closeTo(0.8, 12), yes: null },
      recall: { no: 1, yes: 0 },
      f1: { no: expect.closeTo(f1No, 12), yes: null },
      roc_auc: expect.any(Number),
      band: { accuracy: [expect.closeTo(0.8 - half, 12), expect.closeTo(0.8 + half, 12)], f1: { no: [expect.closeTo(f1No - halfF1, 12), 1], yes: null } },
    });
  });

  it("refuses residuals from a classification model", async () => {
    const { model, version, token } = await liveModel("perf-res");
    const residual = new NumericSketch();
    residual.update(0.5);
    const answer = await postReports(token, [{ ...makeReport(model, version), residual: toBase64(residual.encode()) }]);
    expect(answer.rejected).toEqual([expect.objectContaining({ code: "sketch_mismatch", message: expect.stringMatching(/confusion matrix, not residuals/) })]);
  });
});
