// A report the runtime split into parts (`part`, runtime/split-report.ts) weighs in its sender's
// tally and budget as the whole report would, when its parts come in one batch; parts that
// cannot be shown to belong together weigh each on its own, as before.
import { describe, expect, it } from "vitest";
import type { DriftAnswer } from "../../../../protocol/api.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { CategoricalSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { flush, liveModel, makeReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call } from "../../registry-helpers.ts";

/** `report` as the runtime splits it: tenure and every other sketch in the first part, plan in the second. */
function split(report: Report): Report[] {
  const { plan, ...first } = report.features;
  const { prediction: _p, latency: _l, errors: _e, ...bare } = report;
  return [
    { ...report, features: first },
    { ...bare, id: `${report.id}-1`, part: 1, features: { plan: plan! } },
  ];
}

/** Sends `reports` in one batch from `ip`; answers the accepted ids. */
async function send(token: string, reports: Report[], ip: string): Promise<string[]> {
  const res = await call("POST", "/v1/reports", { token, json: { reports }, headers: { "CF-Connecting-IP": ip } });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { accepted: string[] }).accepted;
}

async function senderShares(model: string): Promise<Record<string, number>> {
  await flush(model);
  const res = await call("GET", `/v1/drift?model=${model}`, { token: BOOTSTRAP });
  const drift = (await res.json()) as DriftAnswer;
  return Object.fromEntries(Object.entries(drift.features).map(([name, f]) => [name, f.sender_share]));
}

const TENURE = Array.from({ length: 20 }, (_, i) => i * 5);

describe("reports split into parts", () => {
  it("weigh once in the sender tally when their parts come in one batch: five equal senders hold a fifth each", async () => {
    const { model, version, token } = await liveModel("split-even");
    for (let s = 1; s <= 5; s++) {
      const parts = split(makeReport(model, version, { client: `c${s}`, tenure: TENURE }));
      expect(await send(token, parts, `198.51.100.${s}`)).toEqual(parts.map((p) => p.id));
    }
    expect(await senderShares(model)).toEqual({ tenure: 0.2, plan: 0.2 });
  });

  it("spend their sender's budget once, every part scaled alike: a busy sender's later features are not cut more than its first", async () => {
    const { model, version, token } = await liveModel("split-budget");
    // 800 rows, then 800 more, in one minute of one sender: 1,000 values a minute of budget (SENDER_BUDGET_PER_MINUTE)
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const rows = Array.from({ length: 800 }, (_, i) => i % 120);
    for (let n = 0; n < 2; n++) await send(token, split(makeReport(model, version, { client: "busy", start, tenure: rows })), "198.51.100.9");
    await flush(model);
    const res = await call("GET", `/v1/drift?model=${model}&from=${start}&to=${start + 60_000}`, { token: BOOTSTRAP });
    const { features } = (await res.json()) as DriftAnswer;
    // the first report whole, the second at the 200 values left
    expect([features.tenure!.count, features.plan!.count]).toEqual([1000, 1000]);
  });

  it("weigh part by part when a part cannot be shown to be of its first one: alone in its batch, another period, a feature twice", async () => {
    const { model, version, token } = await liveModel("split-odd");
    // four honest senders with whole reports
    for (let s = 1; s <= 4; s++) await send(token, [makeReport(model, version, { client: `c${s}`, tenure: TENURE })], `198.51.100.${s}`);
    // the fifth sends its parts in two batches, then a part of another period, then one repeating tenure
    const [first, second] = split(makeReport(model, version, { client: "c5", tenure: TENURE }));
    await send(token, [first!], "198.51.100.5");
    await send(token, [second!], "198.51.100.5");
    const [a, b] = split(makeReport(model, version, { client: "c5", tenure: TENURE }));
    await send(token, [a!, { ...b!, end: b!.end + 1 }], "198.51.100.5");
    const [c, d] = split(makeReport(model, version, { client: "c5", tenure: TENURE }));
    await send(token, [c!, { ...d!, features: { ...d!.features, tenure: c!.features.tenure! } }], "198.51.100.5");
    // every one of the fifth's 6 parts of 20 rows weighs: 120, against 160 tenure values (80 the others')
    const shares = await senderShares(model);
    expect(shares.tenure).toBeCloseTo(120 / 160, 6);
  });

  it("take no weight a client names: the field is the collector's own", async () => {
    const { model, version, token } = await liveModel("split-claim");
    for (let s = 1; s <= 4; s++) await send(token, [makeReport(model, version, { client: `c${s}`, tenure: TENURE })], `198.51.100.${s}`);
    // the fifth sends two whole reports, each claiming to weigh nothing
    const claims = [0, 1].map(() => ({ ...makeReport(model, version, { client: "c5", tenure: TENURE }), weight: 0 }) as Report);
    await send(token, claims, "198.51.100.5");
    expect((await senderShares(model)).tenure).toBeCloseTo(40 / 120, 6);
  });

  it("weigh no less than their sketches hold once scaled: a report straddling its sender's budget is tallied at its sketches' rounded counts", async () => {
    // plan with one value in each count (basic, pro, another value, missing), in the first part or the later one
    for (const planIn of ["first", "later"] as const) {
      const { model, version, token } = await liveModel("split-round");
      const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
      await send(token, [makeReport(model, version, { client: "h", start, tenure: TENURE })], "198.51.100.1");
      // the attacker spends 998 of its minute's 1,000, then sends a two-part report of 4 rows: plan and one tenure value
      const spend = makeReport(model, version, { client: "a", start, tenure: Array.from({ length: 998 }, (_, i) => i % 120) });
      const plan = new CategoricalSketch(["basic", "pro"]);
      for (const v of ["basic", "pro", "enterprise", null]) plan.update(v);
      const tenure = new NumericSketch({ range: { min: 0, max: 120 } });
      tenure.update(5);
      const sketches: Record<string, string>[] = [{ plan: toBase64(plan.encode()) }, { tenure: toBase64(tenure.encode()) }];
      if (planIn === "later") sketches.reverse();
      const { prediction: _p, latency: _l, errors: _e, ...bare } = makeReport(model, version, { client: "a", start, tenure: [1, 2, 3, 4] });
      const first: Report = { ...bare, features: sketches[0]! };
      const later: Report = { ...bare, id: `${bare.id}-1`, part: 1, features: sketches[1]! };
      expect(await send(token, [spend, first, later], "198.51.100.9")).toHaveLength(3);
      await flush(model);
      const res = await call("GET", `/v1/drift?model=${model}&from=${start}&to=${start + 60_000}`, { token: BOOTSTRAP });
      const { features } = (await res.json()) as DriftAnswer;
      // scaled by 2/4, each count of 1 rounds to 1: the attacker's plan holds 998 + 4 values (1,001
      // compared, missing aside), which its tally must cover, as a whole report's would (1,002)
      expect(features.plan!.count, planIn).toBe(20 + 1001);
      expect(Math.round(features.plan!.sender_share * features.plan!.count), planIn).toBe(1002);
    }
  });
});
