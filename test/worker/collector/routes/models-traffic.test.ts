// GET /v1/models gives each model the rows and errors its live versions reported over the last
// hour (the fleet page's columns), summed from the counts kept beside the stored minute rows.
import { expect, it } from "vitest";
import type { ModelSummary } from "../../../../protocol/api.ts";
import { clientsGiven, flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, publish, rollout, unique } from "../../registry-helpers.ts";

const HOUR = 3_600_000;

async function lastHour(model: string): Promise<ModelSummary["lastHour"] | undefined> {
  const res = await call("GET", "/v1/models?app=default", { token: BOOTSTRAP });
  expect(res.status).toBe(200);
  return ((await res.json()) as { models: ModelSummary[] }).models.find((m) => m.name === model)?.lastHour;
}

it("counts the stable and the canary over the last hour, not older reports or other versions", async () => {
  const { model, version: v1, token } = await liveModel("traffic");
  const { version: v2 } = await publish(model);
  await rollout(model, { canary: { version: v2, percent: 50 } });
  const [onV1] = await clientsGiven(model, token, v1, 1, "stable-");
  const [onV2] = await clientsGiven(model, token, v2, 1, "canary-");
  const now = Date.now();
  const reports = [
    makeReport(model, v1, { client: onV1, errors: { validation: 2 } }),
    makeReport(model, v1, { client: onV1, segment: { backend: "wasm" } }),
    makeReport(model, v1, { client: onV1, start: now - 2 * HOUR }),
    makeReport(model, v2, { client: onV2, tenure: [1, 2, 3, 4] }),
  ];
  expect((await postReports(token, reports)).accepted).toHaveLength(4);
  await flush(model);
  expect(await lastHour(model)).toEqual({ rows: 3 + 3 + 4, errors: 2 });
  await rollout(model, { stable: v2 });
  expect(await lastHour(model)).toEqual({ rows: 4, errors: 0 });
});

it("answers zeros for a model without a rollout", async () => {
  const model = unique("traffic-none");
  await publish(model);
  expect(await lastHour(model)).toEqual({ rows: 0, errors: 0 });
});
