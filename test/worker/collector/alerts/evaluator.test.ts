// The cron hands each model to its own evaluator object (collector/alerts/model-evaluator.ts),
// which judges a closed window once however often the cron runs for it — through the cron
// handler on the real collector (D1, Durable Objects).
import { createScheduledController, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../../collector/index.ts";
import { closedUntil } from "../../../../collector/aggregates/windows.ts";
import type { ModelEvaluator } from "../../../../collector/alerts/model-evaluator.ts";
import { failingD1 } from "../../faulty-d1.ts";
import { clientsGiven, flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, canaryWithAlerts, createKey, publish, rollout, setAlerts, unique } from "../../registry-helpers.ts";

async function cron(at: number) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env);
}

/** A model of one stable version whose error rate (20 % allowed) fires once it held in `confirm.k` of the last `confirm.m` windows. */
async function errorRateWatched(prefix: string, confirm = { k: 2, m: 2 }) {
  const model = unique(prefix);
  const { version } = await publish(model);
  await rollout(model, { stable: version });
  const { token } = await createKey("default", "ingest");
  await setAlerts(model, { errorRate: 0.2, windowMinutes: 2, minRows: 10, confirm });
  return { model, version, token, clients: await clientsGiven(model, token, version, 5, prefix) };
}

/** Calls of `version` by each of `clients` that all failed (10 errors, 3 rows each) in the minute at `start`, flushed. */
async function failedCalls(m: { model: string; version: number; token: string; clients: string[] }, start: number) {
  await postReports(
    m.token,
    m.clients.map((client) => makeReport(m.model, m.version, { client, start, errors: { session: 10 } })),
  );
  await flush(m.model);
}

/** The evaluator object of `model`. */
const evaluatorOf = (model: string) => env.EVALUATOR.get(env.EVALUATOR.idFromName(`default/${model}`));

/** The model's recorded alerts, as `kind:state`. */
async function alertsOf(model: string): Promise<string[]> {
  const res = await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP });
  const { alerts } = (await res.json()) as { alerts: { kind: string; state: string }[] };
  return alerts.map((a) => `${a.kind}:${a.state}`);
}

describe("model evaluators", () => {
  it("judges each model in its own object, and a closed window once however often the cron runs for it", async () => {
    const a = await errorRateWatched("eva");
    const b = await errorRateWatched("evb");
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    // five clients whose calls all failed, in one window of each model
    const failing = async (start: number) => {
      for (const m of [a, b]) await failedCalls(m, start);
    };
    await failing(base + 60_000);
    // the platform repeats a run, or someone triggers /__scheduled: the same closed window thrice
    const run = base + 3 * 60_000 + 25_000;
    await cron(run);
    await cron(run + 1000);
    await Promise.all([cron(run + 2000), cron(run + 3000)]);
    expect(await alertsOf(a.model)).toEqual([]);
    expect(await alertsOf(b.model)).toEqual([]);
    // a second window that breaches confirms it
    await failing(base + 5 * 60_000);
    await cron(base + 7 * 60_000 + 25_000);
    expect(await alertsOf(a.model)).toEqual(["error_rate:firing"]);
    expect(await alertsOf(b.model)).toEqual(["error_rate:firing"]);

    const ids = (await listDurableObjectIds(env.EVALUATOR)).map(String);
    for (const m of [a, b]) expect(ids).toContain(env.EVALUATOR.idFromName(`default/${m.model}`).toString());
  });

  it("counts a window once for the stable version when the canary's judgement failed after it and the run is repeated", async () => {
    const config = { errorRate: 0.2, windowMinutes: 2, minRows: 10, confirm: { k: 2, m: 2 } };
    const { model, v1, v2, token } = await canaryWithAlerts("evp", config);
    const stable = { model, version: v1, token, clients: await clientsGiven(model, token, v1, 5, "p") };
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    await failedCalls(stable, base + 60_000);
    const run = base + 3 * 60_000 + 25_000;
    // the canary's read of its window fails (a D1 blip) after the stable's evaluation was stored
    const bind = (bindings: Env) => runInDurableObject(evaluatorOf(model), (o: ModelEvaluator) => void Object.assign(o, { env: bindings }));
    await bind({ ...env, DB: failingD1(env.DB, (query, params) => query.includes(`from "aggregates"`) && params[1] === v2 && params[2] === "live") });
    try {
      await cron(run);
    } finally {
      await bind(env);
    }
    // the platform repeats the run: the one breaching window must not count twice
    await cron(run + 1000);
    expect(await alertsOf(model)).toEqual([]);
    // a second window that breaches confirms it
    await failedCalls(stable, base + 5 * 60_000);
    await cron(base + 7 * 60_000 + 25_000);
    expect(await alertsOf(model)).toEqual(["error_rate:firing"]);
  });

  it("passes over the windows an object judged before each version had a mark of its own (judgedUntil)", async () => {
    const m = await errorRateWatched("evl", { k: 1, m: 1 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    await failedCalls(m, base + 2 * 60_000);
    const run = base + 3 * 60_000 + 25_000;
    // a collector before this one judged the run's window and marked the whole model judged up to it
    await runInDurableObject(evaluatorOf(m.model), (_: ModelEvaluator, state) => state.storage.put("judgedUntil", closedUntil(env, run)));
    // the platform repeats the run after the deploy: judged already
    await cron(run);
    expect(await alertsOf(m.model)).toEqual([]);
    // the next window, which holds the same failing minute, is judged
    await cron(run + 60_000);
    expect(await alertsOf(m.model)).toEqual(["error_rate:firing"]);
  });
});
