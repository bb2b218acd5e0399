// GET /v1/segments: the segment keys and values a model's reports carried (what the dashboard
// offers to slice by).
import { describe, expect, it } from "vitest";
import { flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { canonicalSegment } from "../../../../protocol/segment.ts";
import { BOOTSTRAP, call, createKey, expectError, publish, unique } from "../../registry-helpers.ts";

describe("GET /v1/segments", async () => {
  const model = unique("seg-route");
  await publish(model);
  const { token: ingest } = await createKey("default", "ingest");
  const { token: read } = await createKey("default", "read");
  await postReports(ingest, [makeReport(model, 1, { segment: { backend: "wasm", appVersion: "4.2" } }), makeReport(model, 1, { segment: { backend: "webgpu", appVersion: "4.2" } })]);
  await flush(model);

  it("lists each key's values, sorted", async () => {
    const res = await call("GET", `/v1/segments?model=${model}`, { token: read });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model, segments: { appVersion: ["4.2"], backend: ["wasm", "webgpu"] } });
  });

  it("lists segment keys named like Object.prototype's members (toString, valueOf)", async () => {
    // a segment key is the sender's word: any 1-32 of letters, digits, _ . -
    const named = unique("seg-proto");
    await publish(named);
    await postReports(ingest, [makeReport(named, 1, { segment: { toString: "y", valueOf: "z" } })]);
    await flush(named);
    const res = await call("GET", `/v1/segments?model=${named}`, { token: read });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: named, segments: { toString: ["y"], valueOf: ["z"] } });
    const sliced = await call("GET", `/v1/stats?model=${named}&segment=toString:y`, { token: read });
    expect(sliced.status, await sliced.clone().text()).toBe(200);
    expect(((await sliced.json()) as { reports: number }).reports).toBe(1);
  });

  it("slices by values holding , : or % in their canonical form, as canonicalSegment writes it", async () => {
    const named = unique("seg-comma");
    await publish(named);
    const segment = { region: "Paris, FR", tag: "a:b 50%" };
    await postReports(ingest, [makeReport(named, 1, { segment }), makeReport(named, 1, { segment: { region: "Lyon" } })]);
    await flush(named);
    const res = await call("GET", `/v1/segments?model=${named}`, { token: read });
    expect(((await res.json()) as { segments: Record<string, string[]> }).segments.region).toEqual(["Lyon", "Paris, FR"]);
    for (const [key, value] of Object.entries(segment)) {
      const param = encodeURIComponent(canonicalSegment({ [key]: value }));
      const sliced = await call("GET", `/v1/stats?model=${named}&segment=${param}`, { token: read });
      expect(sliced.status, await sliced.clone().text()).toBe(200);
      expect(((await sliced.json()) as { reports: number }).reports).toBe(1);
    }
  });

  it("needs a read key of the model's app", async () => {
    await expectError(await call("GET", `/v1/segments?model=${model}`), 401, "unauthorized");
    const { token: other } = await createKey(unique("app"), "read");
    await expectError(await call("GET", `/v1/segments?model=${model}`, { token: other }), 404, "not_found"); // another app's model: as if missing
    expect((await call("GET", `/v1/segments?model=${model}`, { token: BOOTSTRAP })).status).toBe(200);
  });
});
