import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import worker from "../../../../collector/index.ts";
import type { ModelEvaluator } from "../../../../collector/alerts/model-evaluator.ts";
import { CategoricalSketch, ConfusionMatrix, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";
import { failingD1 } from "../../faulty-d1.ts";
import { clientsGiven, flush, makeReport, postReports, publishManifest, publishWithEstimation, sketchReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, canaryWithAlerts, createKey, expectError, manifestFor, publish, rollout, twoFeatureManifest, unique } from "../../registry-helpers.ts";

const HOOK = "https://hooks.example.test/driftline";
type Posted = { app: string; kind: string; subject: string | null; state: string; version: number; message: string; threshold: number | null };
/** Each alert posted, with the text of its post (alerts of one kind and state of one run share a post). */
const posted: { text: string; alert: Posted }[] = [];
/** How many alerts each post carried. */
const posts: number[] = [];
const realFetch = globalThis.fetch;
/** While true the receiver answers 503 to every post and records none. */
let receiverDown = false;
// Only the external webhook receiver is mocked; everything else is the real collector.
const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (!url.startsWith(HOOK)) return realFetch(input, init);
  if (receiverDown) return new Response("down for maintenance", { status: 503 });
  const body = JSON.parse(String(init?.body)) as { text: string; alert: Posted; alerts?: Posted[] };
  const alerts = body.alerts ?? [body.alert];
  for (const alert of alerts) posted.push({ text: body.text, alert });
  posts.push(alerts.length);
  return new Response("ok");
});
afterAll(() => spy.mockRestore());

async function cron(at: number) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env);
}

/** Runs `during` while the evaluator object of `model` reads and writes D1 through `db`. */
async function withEvaluatorDb(model: string, db: D1Database, during: () => Promise<void>) {
  const object = env.EVALUATOR.get(env.EVALUATOR.idFromName(`default/${model}`));
  const bind = (bindings: Env) => runInDurableObject(object, (o: ModelEvaluator) => void Object.assign(o, { env: bindings }));
  await bind({ ...env, DB: db });
  try {
    await during();
  } finally {
    await bind(env);
  }
}

/** The canary version of `model`'s rollout, null when there is none. */
async function canaryOf(model: string): Promise<number | null> {
  const rollout = (await (await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP })).json()) as { canary: { version: number } | null };
  return rollout.canary?.version ?? null;
}

/**
 * Two windows of traffic, each sent by `send` (told its start and whether it is the second), each
 * judged by a cron run: the canary after each run.
 */
async function canaryAfterTwoWindows(model: string, send: (start: number, second: boolean) => Promise<void>): Promise<(number | null)[]> {
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const after: (number | null)[] = [];
  for (const [i, second] of [false, true].entries()) {
    await send(base + (1 + 9 * i) * 60_000, second);
    await cron(base + (3 + 9 * i) * 60_000 + 25_000);
    after.push(await canaryOf(model));
  }
  return after;
}

/**
 * A new model with an error-rate objective (20 %) and the webhook, whose five clients' calls all
 * failed in one window; `at` is the cron run that judges it.
 */
async function failingWindow(clientPrefix: string, prefix = "alerts"): Promise<{ model: string; at: number; token: string; version: number; clients: string[]; base: number }> {
  const model = unique(prefix);
  const { version } = await publish(model);
  const { token } = await createKey("default", "ingest");
  const config = { webhook: HOOK, errorRate: 0.2, windowMinutes: 2, minRows: 10 };
  expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config })).status).toBe(200);
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const clients = await clientsGiven(model, token, version, 5, clientPrefix);
  await postReports(
    token,
    clients.map((client) => makeReport(model, version, { client, start: base + 60_000, ...rows(false), errors: { session: 10 } })),
  );
  await flush(model);
  return { model, at: base + 3 * 60_000 + 25_000, token, version, clients, base };
}

/** Twenty rows like the reference (tenure 0..71, a third "pro"), or drifted (tenure 100+, all "pro"). */
const rows = (drifted: boolean) => ({
  tenure: Array.from({ length: 20 }, (_, i) => (drifted ? 100 + i : (i * 7) % 72)),
  plan: Array.from({ length: 20 }, (_, i) => (drifted || i % 3 === 0 ? "pro" : "basic")),
});

describe("alerts", () => {
  it("fires and resolves once per state change, posts the webhook, and rolls a bad canary back", async () => {
    const config = { webhook: HOOK, datasetDrift: 0.5, featureDrift: ["*"], errorRate: 0.2, latencyP95Ms: 50, windowMinutes: 2, minRows: 10 };
    const { model, v1, v2, token } = await canaryWithAlerts("alerts", config);

    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const a = base + 60_000;
    const stableClients = await clientsGiven(model, token, v1, 5, "s");
    const canaryClients = await clientsGiven(model, token, v2, 5, "c");
    await postReports(token, [
      ...stableClients.map((client) => makeReport(model, v1, { client, start: a, ...rows(true) })),
      ...canaryClients.map((client) => makeReport(model, v2, { client, start: a, ...rows(false), errors: { session: 10 }, latencyMs: [120] })),
    ]);
    await flush(model);
    const firstRun = base + 3 * 60_000 + 25_000;
    await cron(firstRun);

    const kinds = posted.map((p) => `${p.alert.version}:${p.alert.kind}:${p.alert.subject ?? ""}:${p.alert.state}`).sort();
    expect(kinds).toEqual(
      [
        `${v1}:dataset_drift::firing`,
        `${v1}:feature_drift:plan:firing`,
        `${v1}:feature_drift:tenure:firing`,
        `${v2}:error_rate::firing`,
        `${v2}:latency_p95:backend:wasm:firing`,
        `${v2}:rollback::firing`,
      ].sort(),
    );
    expect(posted.every((p) => typeof p.text === "string" && p.text.includes(model))).toBe(true);
    // the two features' drift of the stable went in one post, which names both (a wide model's
    // hundred drifting features would post once, not a hundred times)
    expect(posts).toEqual([1, 2, 1, 1, 1]);
    expect(posted.find((p) => p.alert.subject === "tenure")?.text).toMatch(/: feature drift FIRING for 2 subjects over .*: tenure, plan \(each alert: the dashboard, driftline alerts\)$/);
    // a feature's alert names its test and which way the threshold points, not a bare "test value"
    const tenure = posted.find((p) => p.alert.subject === "tenure")!;
    expect(tenure.alert.message).toMatch(/drift of feature "tenure" FIRING \(KS p-value \S+, drift below 0\.0500\) over /);
    expect(tenure.alert.threshold).toBe(0.05);
    const after = await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP });
    expect(await after.json()).toMatchObject({ stable: v1, canary: null });

    // the same state again posts nothing
    await cron(firstRun + 1000);
    expect(posted).toHaveLength(6);

    // healthy traffic later resolves the stable's drift
    const b = base + 10 * 60_000;
    await postReports(
      token,
      stableClients.map((client) => makeReport(model, v1, { client, start: b, ...rows(false) })),
    );
    await flush(model);
    await cron(base + 12 * 60_000 + 25_000);
    expect(
      posted
        .slice(6)
        .map((p) => `${p.alert.kind}:${p.alert.subject ?? ""}:${p.alert.state}`)
        .sort(),
    ).toEqual(["dataset_drift::resolved", "feature_drift:plan:resolved", "feature_drift:tenure:resolved"]);

    const { token: read } = await createKey("default", "read");
    const listed = await call("GET", `/v1/alerts?model=${model}`, { token: read });
    const body = (await listed.json()) as { alerts: { state: string; deliveredAt: string | null; attempts: number }[] };
    expect(body.alerts).toHaveLength(9);
    expect(body.alerts.every((x) => x.deliveredAt !== null && x.attempts === 1)).toBe(true);
    const shown = await call("GET", `/v1/models/${model}/alerts`, { token: read });
    // a read key sees the webhook without its path (../alerts/webhook.test.ts covers the masking)
    expect(await shown.json()).toMatchObject({ model, webhook: "https://hooks.example.test/…", errorRate: 0.2, autoRollback: true });
  });

  it("leaves the canary alone for input drift the stable version shows too, and rolls it back for drift of its own", async () => {
    const { model, v1, v2, token } = await canaryWithAlerts("alerts-population", { datasetDrift: 0.5, featureDrift: ["*"], windowMinutes: 2, minRows: 10 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const stableClients = await clientsGiven(model, token, v1, 5, "ps");
    const canaryClients = await clientsGiven(model, token, v2, 5, "pc");
    const send = async (start: number, stableDrifted: boolean, canaryDrifted: boolean) => {
      await postReports(token, [
        ...stableClients.map((client) => makeReport(model, v1, { client, start, ...rows(stableDrifted) })),
        ...canaryClients.map((client) => makeReport(model, v2, { client, start, ...rows(canaryDrifted) })),
      ]);
      await flush(model);
    };
    const state = async () => {
      const rollout = (await (await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP })).json()) as { canary: { version: number } | null };
      const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { version: number; kind: string; state: string }[] };
      return {
        canary: rollout.canary?.version ?? null,
        rollbacks: listed.alerts.filter((a) => a.kind === "rollback").length,
        v2drift: listed.alerts.filter((a) => a.version === v2 && a.kind === "dataset_drift" && a.state === "firing").length,
      };
    };
    // the traffic itself moved: both versions see it
    await send(base + 60_000, true, true);
    await cron(base + 3 * 60_000 + 25_000);
    expect(await state()).toEqual({ canary: v2, rollbacks: 0, v2drift: 1 });
    // later only the canary's inputs are off (its feeds built differently, say): that is the canary's
    await send(base + 10 * 60_000, false, true);
    await cron(base + 12 * 60_000 + 25_000);
    expect(await state()).toMatchObject({ canary: null, rollbacks: 1 });
  });

  it("leaves the canary alone for input drift the stable version keeps firing while one sender leaves the stable's no verdict", async () => {
    const { model, v1, v2, token } = await canaryWithAlerts("alerts-kept-input", { featureDrift: ["tenure"], windowMinutes: 2, minRows: 10 });
    const stableClients = await clientsGiven(model, token, v1, 5, "ks");
    const canaryClients = await clientsGiven(model, token, v2, 5, "kc");
    const [attacker] = await clientsGiven(model, token, v1, 1, "ks-attacker");
    const send = async (start: number, outweighed: boolean) => {
      await postReports(token, [
        ...stableClients.map((client) => makeReport(model, v1, { client, start, ...rows(true) })),
        ...canaryClients.map((client) => makeReport(model, v2, { client, start, ...rows(true) })),
        // one sender's 150 failed calls on the stable version outweigh its 100 tenure values: no verdict there
        ...(outweighed ? [makeReport(model, v1, { client: attacker, start, tenure: [], errors: { session: 150 } })] : []),
      ]);
      await flush(model);
    };
    // the traffic itself moved: both versions see it, the stable's tenure alert fires; then the
    // traffic is still moved, the stable's tenure keeps firing unjudged, and the canary's drift is still the traffic's
    expect(await canaryAfterTwoWindows(model, send)).toEqual([v2, v2]);
  });

  it("leaves the canary alone for input drift the stable version keeps firing through a window too quiet to judge", async () => {
    const { model, v1, v2, token } = await canaryWithAlerts("alerts-quiet-stable", { featureDrift: ["tenure"], windowMinutes: 2, minRows: 10 });
    const stableClients = await clientsGiven(model, token, v1, 5, "qs");
    const canaryClients = await clientsGiven(model, token, v2, 5, "qc");
    const send = async (start: number, quietStable: boolean) => {
      const stable = quietStable
        ? [makeReport(model, v1, { client: stableClients[0]!, start, tenure: rows(true).tenure.slice(0, 5) })]
        : stableClients.map((client) => makeReport(model, v1, { client, start, ...rows(true) }));
      await postReports(token, [...stable, ...canaryClients.map((client) => makeReport(model, v2, { client, start, ...rows(true) }))]);
      await flush(model);
    };
    // the traffic itself moved: both versions see it, the stable's tenure alert fires; then the
    // traffic is still moved, the stable's 5 rows are too few to judge (minRows 10), its alert stays firing
    expect(await canaryAfterTwoWindows(model, send)).toEqual([v2, v2]);
  });

  it("keeps a feature's drift alert firing through windows in which the feature has no values", async () => {
    const { model, v1, token } = await canaryWithAlerts("alerts-no-values", { featureDrift: ["*"], windowMinutes: 2, minRows: 10 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const clients = await clientsGiven(model, token, v1, 5, "nv");
    const send = async (start: number, drifted: boolean, tenureMissing = false) => {
      await postReports(
        token,
        clients.map((client) => makeReport(model, v1, { client, start, ...rows(drifted), tenureMissing })),
      );
      await flush(model);
    };
    const changes = async () => {
      const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { kind: string; subject: string; state: string }[] };
      return listed.alerts.map((a) => `${a.subject}:${a.state}`).sort();
    };
    await send(base + 60_000, true);
    await cron(base + 3 * 60_000 + 25_000);
    expect(await changes()).toEqual(["plan:firing", "tenure:firing"]);
    // every row's tenure missing (an app that stopped filling it in): nothing to judge its drift on
    await send(base + 10 * 60_000, false, true);
    await cron(base + 12 * 60_000 + 25_000);
    expect(await changes()).toEqual(["plan:firing", "plan:resolved", "tenure:firing"]);
    await send(base + 20 * 60_000, false);
    await cron(base + 22 * 60_000 + 25_000);
    expect(await changes()).toEqual(["plan:firing", "plan:resolved", "tenure:firing", "tenure:resolved"]);
  });

  it("keeps a feature's drift alert firing when one sender's rows without the feature leave it no verdict, not resolved", async () => {
    const { model, v1, token } = await canaryWithAlerts("alerts-outweighed", { featureDrift: ["tenure"], windowMinutes: 2, minRows: 10 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const clients = await clientsGiven(model, token, v1, 5, "ow");
    const [attacker] = await clientsGiven(model, token, v1, 1, "ow-attacker");
    const send = async (start: number, drifted: boolean, outweighed = false) => {
      await postReports(token, [
        ...clients.map((client) => makeReport(model, v1, { client, start, ...rows(drifted) })),
        // one sender, more rows than the window has tenure values, none of them with tenure: sender_share 1
        ...(outweighed ? [makeReport(model, v1, { client: attacker, start, tenure: Array.from({ length: 150 }, (_, i) => i % 72), tenureMissing: true })] : []),
      ]);
      await flush(model);
    };
    const tenure = async () => {
      const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { subject: string; state: string }[] };
      return listed.alerts.filter((a) => a.subject === "tenure").map((a) => a.state);
    };
    await send(base + 60_000, true);
    await cron(base + 3 * 60_000 + 25_000);
    expect(await tenure()).toEqual(["firing"]);
    // every honest row still drifted; the one sender outweighs them
    await send(base + 10 * 60_000, true, true);
    await cron(base + 12 * 60_000 + 25_000);
    const drift = (await (await call("GET", `/v1/drift?model=${model}&version=${v1}&from=${base + 10 * 60_000}&to=${base + 12 * 60_000}`, { token: BOOTSTRAP })).json()) as {
      features: Record<string, { sender_share: number; value: number | null }>;
    };
    expect(drift.features.tenure).toMatchObject({ sender_share: 1, value: null });
    expect(await tenure()).toEqual(["firing"]);
    await send(base + 20 * 60_000, false);
    await cron(base + 22 * 60_000 + 25_000);
    expect(await tenure()).toEqual(["resolved", "firing"]);
  });

  it("keeps dataset drift firing when one sender outweighs every feature's values, not resolved", async () => {
    const { model, v1, token } = await canaryWithAlerts("alerts-outweighed-all", { datasetDrift: 0.5, windowMinutes: 2, minRows: 10 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const clients = await clientsGiven(model, token, v1, 5, "oa");
    const [attacker] = await clientsGiven(model, token, v1, 1, "oa-attacker");
    const send = async (start: number, drifted: boolean, outweighed = false) => {
      await postReports(token, [
        ...clients.map((client) => makeReport(model, v1, { client, start, ...rows(drifted) })),
        // one sender's 150 failed calls outweigh the window's 100 values of each feature: no feature has a verdict
        ...(outweighed ? [makeReport(model, v1, { client: attacker, start, tenure: [], errors: { session: 150 } })] : []),
      ]);
      await flush(model);
    };
    const dataset = async () => {
      const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { kind: string; state: string }[] };
      return listed.alerts.filter((a) => a.kind === "dataset_drift").map((a) => a.state);
    };
    await send(base + 60_000, true);
    await cron(base + 3 * 60_000 + 25_000);
    expect(await dataset()).toEqual(["firing"]);
    await send(base + 10 * 60_000, true, true);
    await cron(base + 12 * 60_000 + 25_000);
    expect(await dataset()).toEqual(["firing"]);
    await send(base + 20 * 60_000, false);
    await cron(base + 22 * 60_000 + 25_000);
    expect(await dataset()).toEqual(["resolved", "firing"]);
  });

  it("records every rollback the guardrail makes, also when D1 fails between the rollback and its alert", async () => {
    const { model, v2, token } = await canaryWithAlerts("alerts", { errorRate: 0.2, windowMinutes: 2, minRows: 10 });
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const canaryClients = await clientsGiven(model, token, v2, 5, "rb");
    await postReports(
      token,
      canaryClients.map((client) => makeReport(model, v2, { client, start: base + 60_000, ...rows(false), errors: { session: 10 } })),
    );
    await flush(model);
    // the first alert row of a rollback the model's evaluator writes fails
    const rollbackAlert = (query: string, params: unknown[]) => query.startsWith('insert into "alerts"') && params.includes("rollback");
    await withEvaluatorDb(model, failingD1(env.DB, rollbackAlert), () => cron(base + 3 * 60_000 + 25_000));
    const state = async () => {
      const rollout = (await (await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP })).json()) as { canary: { version: number } | null };
      const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { kind: string; state: string }[] };
      return { canary: rollout.canary?.version ?? null, alerts: listed.alerts.map((a) => `${a.kind}:${a.state}`).sort() };
    };
    // neither the rollback nor its alert is kept without the other; the next run rolls back
    expect(await state()).toEqual({ canary: v2, alerts: ["error_rate:firing"] });
    await cron(base + 3 * 60_000 + 26_000);
    expect(await state()).toEqual({ canary: null, alerts: ["error_rate:firing", "rollback:firing"] });
    const row = await env.DB.prepare("select version, subject, value, threshold, window_to - window_from as span, message, attempts, delivered_at from alerts where model = ? and kind = 'rollback'")
      .bind(`default/${model}`)
      .first();
    expect(row).toMatchObject({ version: v2, subject: "", value: null, threshold: null, span: 120_000, attempts: 0, delivered_at: null });
    expect(row!.message).toContain("canary rolled back automatically by the guardrail");
  });

  it("judges a canary launched again after a rollback on its new windows, not on the evaluations before", async () => {
    // one failing window in the last three fires
    const { model, v2, token } = await canaryWithAlerts("alerts-relaunch", { errorRate: 0.2, windowMinutes: 2, minRows: 10, confirm: { k: 1, m: 3 } });
    // the failing window ends this minute and the healthy one comes minutes later: the canary is launched again now, between them
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 180_000;
    const failing = await clientsGiven(model, token, v2, 5, "fail");
    await postReports(
      token,
      failing.map((client) => makeReport(model, v2, { client, start: base + 60_000, ...rows(false), errors: { session: 10 } })),
    );
    await flush(model);
    await cron(base + 3 * 60_000 + 25_000);
    expect(await canaryOf(model)).toBeNull();
    // fixed (a new build of the app's feeds, say) and launched again: its calls now succeed
    await rollout(model, { canary: { version: v2, percent: 50 } });
    const healthy = await clientsGiven(model, token, v2, 5, "ok");
    await postReports(
      token,
      healthy.map((client) => makeReport(model, v2, { client, start: base + 10 * 60_000, ...rows(false) })),
    );
    await flush(model);
    await cron(base + 12 * 60_000 + 25_000);
    expect(await canaryOf(model)).toBe(v2);
    const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { kind: string; state: string }[] };
    expect(listed.alerts.map((a) => `${a.kind}:${a.state}`).sort()).toEqual(["error_rate:firing", "error_rate:resolved", "rollback:firing"]);
  });

  it("does not roll a canary launched again back on the calls before its launch, which its trailing window still holds", async () => {
    const { model, v2, token } = await canaryWithAlerts("alerts-stale", { errorRate: 0.2, windowMinutes: 5, minRows: 10 });
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const failing = await clientsGiven(model, token, v2, 5, "fail");
    await postReports(
      token,
      failing.map((client) => makeReport(model, v2, { client, start: minute - 120_000, ...rows(false), errors: { session: 10 } })),
    );
    await flush(model);
    await cron(minute + 25_000);
    expect(await canaryOf(model)).toBeNull();
    // the cause found and fixed at once, the canary is launched again: the next run's 5 minutes still
    // hold the failing calls, which were the first launch's
    const relaunch = await rollout(model, { canary: { version: v2, percent: 50 } });
    // the canary's own minutes start at the first whole minute after its launch (collector/rollout/canary-since.ts):
    // `minute` + 1 unless the run got here after that minute began (a run at hh:mm:59.7 read 'expected 2 to be null' below)
    const own = Math.ceil(Date.parse(relaunch.rollout.updatedAt as string) / 60_000) * 60_000;
    // the run after the launch judges the 5 minutes before `own`, which hold the failing calls
    expect(own - 5 * 60_000).toBeLessThanOrEqual(minute - 120_000);
    await cron(own + 25_000);
    expect(await canaryOf(model)).toBe(v2);
    // its own calls after the launch are judged: failing ones roll it back
    await postReports(
      token,
      failing.map((client) => makeReport(model, v2, { client, start: own, ...rows(false), errors: { session: 10 } })),
    );
    await flush(model);
    await cron(own + 85_000);
    expect(await canaryOf(model)).toBeNull();
  });

  it("keeps trying a change while the receiver is down, further apart each time, and delivers it once the receiver is back", async () => {
    const { model, at } = await failingWindow("rd");
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`);
    receiverDown = true;
    try {
      // a run a minute for 20 minutes while the receiver is down: tried at minutes 0, 1, 3, 7 and 15
      for (let m = 0; m < 20; m++) await cron(at + m * 60_000);
    } finally {
      receiverDown = false;
    }
    await cron(at + 30 * 60_000);
    expect(mine()).toEqual([]);
    await cron(at + 31 * 60_000);
    expect(mine()).toEqual(["error_rate:firing"]);
    // the post names the model's app, as GET /v1/alerts does
    expect(posted.filter((p) => p.text.includes(model)).map((p) => p.alert.app)).toEqual(["default"]);
    const row = await env.DB.prepare("select attempts, retry_at, delivered_at from alerts where model = ?").bind(`default/${model}`).first();
    expect(row).toEqual({ attempts: 6, retry_at: null, delivered_at: at + 31 * 60_000 });
  });

  it("posts a condition's resolution after its firing, not while the firing waits for its next try", async () => {
    const { model, at, token, version, clients, base } = await failingWindow("ro");
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`);
    receiverDown = true;
    try {
      // the firing is tried at minutes 0, 1 and 3 while the receiver is down: its next try is at minute 7
      for (const m of [0, 1, 3]) await cron(at + m * 60_000);
    } finally {
      receiverDown = false;
    }
    // the receiver is back, and healthy calls two minutes later resolve the error rate at minute 4
    await postReports(
      token,
      clients.map((client) => makeReport(model, version, { client, start: base + 5 * 60_000, ...rows(false) })),
    );
    await flush(model);
    await cron(at + 4 * 60_000);
    // the receiver learns the condition fired, then that it resolved: never a resolution before its firing,
    // nor a firing that arrives last and reads as the condition's state
    expect(mine()).toEqual(["error_rate:firing", "error_rate:resolved"]);
    await cron(at + 7 * 60_000);
    expect(mine()).toEqual(["error_rate:firing", "error_rate:resolved"]);
  });

  it("holds a resolution back while its firing's post fails, and tries both together at the firing's next try", async () => {
    const { model, at, token, version, clients, base } = await failingWindow("rh");
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`);
    await postReports(
      token,
      clients.map((client) => makeReport(model, version, { client, start: base + 5 * 60_000, ...rows(false) })),
    );
    await flush(model);
    receiverDown = true;
    try {
      // tried at 0 and 1; at 3 the healthy calls resolve it: the firing is tried and fails, so the resolution waits
      for (const m of [0, 1, 3]) await cron(at + m * 60_000);
    } finally {
      receiverDown = false;
    }
    const stored = await env.DB.prepare("select state, attempts, retry_at from alerts where model = ? order by id").bind(`default/${model}`).all();
    expect(stored.results).toEqual([
      { state: "firing", attempts: 3, retry_at: at + 7 * 60_000 },
      { state: "resolved", attempts: 0, retry_at: at + 7 * 60_000 },
    ]);
    await cron(at + 6 * 60_000);
    expect(mine()).toEqual([]);
    await cron(at + 7 * 60_000);
    expect(mine()).toEqual(["error_rate:firing", "error_rate:resolved"]);
  });

  it("puts off every change held back behind failed posts, more than one D1 statement can name", async () => {
    const model = unique("alerts");
    const { version } = await publish(model);
    // no rollout: the cron judges nothing and only posts the alerts stored below
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, errorRate: 0.2 } })).status).toBe(200);
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    // a wide model's 100 features fired in one run and resolved in the next, neither posted yet (a webhook set since)
    const change = (subject: string, state: string, at: number) =>
      env.DB.prepare(
        "insert into alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, attempts) values (?, ?, 'feature_drift', ?, ?, null, null, ?, ?, ?, ?, 0)",
      ).bind(`default/${model}`, version, subject, state, at - 120_000, at, `${model} ${subject} ${state}`, at);
    const subjects = Array.from({ length: 100 }, (_, i) => `f${i}`);
    await env.DB.batch([...subjects.map((s) => change(s, "firing", now - 120_000)), ...subjects.map((s) => change(s, "resolved", now - 60_000))]);
    receiverDown = true;
    try {
      await cron(now + 25_000);
    } finally {
      receiverDown = false;
    }
    // the firings' posts failed: the resolutions wait for the firings' next try, a minute on
    const stored = await env.DB.prepare("select state, attempts, retry_at, count(*) as alerts from alerts where model = ? group by state, attempts, retry_at order by state")
      .bind(`default/${model}`)
      .all();
    const retryAt = now + 25_000 + 60_000;
    expect(stored.results).toEqual([
      { state: "firing", attempts: 1, retry_at: retryAt, alerts: 100 },
      { state: "resolved", attempts: 0, retry_at: retryAt, alerts: 100 },
    ]);
    // so a run before then posts neither, and spends none of their tries
    await cron(now + 55_000);
    expect(posted.filter((p) => p.text.includes(model))).toEqual([]);
  });

  it("does not post after the upgrade the alerts the code before gave up on after 5 attempts, and posts those it still tried", async () => {
    const model = unique("alerts");
    const { version } = await publish(model);
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, errorRate: 0.2 } })).status).toBe(200);
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => p.alert.message);
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    // as the code before migration 0016 left them: a firing of 3 days ago out of tries (5), one tried twice
    const insert = (message: string, at: number, attempts: number) =>
      env.DB.prepare(
        "insert into alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, delivered_at, attempts, last_error) values (?, ?, 'error_rate', '', 'firing', 0.5, 0.2, ?, ?, ?, ?, null, ?, 'HTTP 503')",
      )
        .bind(`default/${model}`, version, at - 120_000, at, `${model} ${message}`, at, attempts)
        .run();
    await insert("given up", now - 3 * 86_400_000, 5);
    await insert("still tried", now - 120_000, 2);
    // the deploy applies the migrations of the alerts after 0016 to such rows (others, already
    // applied to this database, would not apply twice)
    for (const migration of env.TEST_MIGRATIONS.filter((m) => Number.parseInt(m.name, 10) > 16 && m.queries.some((q) => q.includes("`alerts`")))) {
      for (const query of migration.queries) await env.DB.prepare(query).run();
    }
    await cron(now + 25_000);
    expect(mine()).toEqual([`${model} still tried`]);
    const given = await env.DB.prepare("select attempts, last_error from alerts where message = ?").bind(`${model} given up`).first();
    expect(given).toEqual({ attempts: 30, last_error: "HTTP 503 (given up after 5 attempts a minute apart, before retries were spaced out)" });
  });

  it("judges every model while six models' webhooks are slow to answer", async () => {
    const slow: string[] = [];
    let at = 0;
    for (let i = 0; i < 6; i++) {
      const made = await failingWindow(`sw${i}`);
      slow.push(made.model);
      at = made.at;
    }
    const quiet = await failingWindow("sq", "zz-quiet");
    // the six models' receiver holds each post (up to the post's 10 s timeout in production) until released
    const receive = spy.getMockImplementation()!;
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    let held = 0;
    spy.mockImplementation(async (input, init) => {
      if (String(input instanceof Request ? input.url : input).startsWith(HOOK) && slow.some((m) => String(init?.body).includes(m))) {
        held++;
        await released;
      }
      return receive(input, init);
    });
    const run = cron(at);
    try {
      const judged = async () => {
        const res = await call("GET", `/v1/alerts?model=${quiet.model}`, { token: BOOTSTRAP });
        return ((await res.json()) as { alerts: unknown[] }).alerts.length;
      };
      // the other model is judged while the six posts are held (before the fix every call of the run waited on one, and it was not)
      const until = Date.now() + 30_000;
      while (held < 6 && (await judged()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000));
      expect({ quiet: await judged() }, `${held} posts held`).toEqual({ quiet: 1 });
    } finally {
      release();
      spy.mockImplementation(receive);
      await run;
    }
  });

  it("stores a state change once when cron runs overlap", async () => {
    const { model, at } = await failingWindow("ov");
    // a run that takes over a minute (many models, slow webhooks) still runs when the next starts
    await Promise.all([cron(at), cron(at + 1000)]);
    const listed = (await (await call("GET", `/v1/alerts?model=${model}`, { token: BOOTSTRAP })).json()) as { alerts: { kind: string; state: string }[] };
    expect(listed.alerts.map((a) => `${a.kind}:${a.state}`)).toEqual(["error_rate:firing"]);
    expect(posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`)).toEqual(["error_rate:firing"]);
  });

  it("posts a change once when a later cron run starts while the post is still in flight, and again once the run that claimed it is gone", async () => {
    const { model, at } = await failingWindow("fl");
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`);
    // the receiver holds the first run's POST (a slow receiver, many models) until the next run is done
    const receive = spy.getMockImplementation()!;
    let release = () => {};
    const inFlight = new Promise<void>((held) =>
      spy.mockImplementation(async (input, init) => {
        if (!String(input instanceof Request ? input.url : input).startsWith(HOOK)) return receive(input, init);
        held();
        await new Promise<void>((r) => (release = r));
        return receive(input, init);
      }),
    );
    const first = cron(at);
    await inFlight;
    spy.mockImplementation(receive);
    await cron(at + 1000);
    release();
    await first;
    expect(mine()).toEqual(["error_rate:firing"]);
    // a run that claimed an attempt and died before recording it (evicted mid-POST) leaves it to a run after the lease
    await env.DB.prepare("update alerts set delivered_at = null, attempts = 1, claimed_at = ? where model = ?")
      .bind(Date.now() - 30_000, `default/${model}`)
      .run();
    await cron(at + 2000);
    expect(mine()).toEqual(["error_rate:firing"]);
    await env.DB.prepare("update alerts set claimed_at = ? where model = ?")
      .bind(Date.now() - 5 * 60_000, `default/${model}`)
      .run();
    await cron(at + 3000);
    expect(mine()).toEqual(["error_rate:firing", "error_rate:firing"]);
  });

  it("fires only when a condition held in k of the last m windows, and resolves when it holds in fewer", async () => {
    const model = unique("alerts");
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const { token } = await createKey("default", "ingest");
    const config = { webhook: HOOK, datasetDrift: 0.5, errorRate: 0.5, windowMinutes: 2, minRows: 10, confirm: { k: 2, m: 3 } };
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config });
    expect(put.status, await put.clone().text()).toBe(200);
    const states = () => env.DB.prepare("select kind, state, recent from alert_states where model = ? order by kind").bind(`default/${model}`).all();
    const mine = () => posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`);

    const base = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000;
    const clients = await clientsGiven(model, token, version, 5, "k");
    await postReports(
      token,
      clients.map((client) => makeReport(model, version, { client, start: base + 2 * 60_000, ...rows(true) })),
    );
    await flush(model);
    // two-minute windows a minute apart, both holding the drifted minute
    const drifted = base + 3 * 60_000 + 25_000;
    await cron(drifted);
    expect(mine()).toEqual([]);
    await cron(drifted + 60_000);
    expect(mine()).toEqual(["dataset_drift:firing"]);

    await postReports(
      token,
      clients.map((client) => makeReport(model, version, { client, start: base + 11 * 60_000, ...rows(false) })),
    );
    await flush(model);
    const healthy = base + 12 * 60_000 + 25_000;
    await cron(healthy);
    expect(mine()).toEqual(["dataset_drift:firing"]);
    await cron(healthy + 60_000);
    expect(mine()).toEqual(["dataset_drift:firing", "dataset_drift:resolved"]);
    // the error rate never held: no state row was written for it
    expect((await states()).results).toEqual([{ kind: "dataset_drift", state: "resolved", recent: "100" }]);
    const shown = await call("GET", `/v1/models/${model}/alerts`, { token: BOOTSTRAP });
    expect(await shown.json()).toMatchObject({ confirm: { k: 2, m: 3 } });
  });

  it("fires when accuracy from on-device labels falls below the profile's baseline by more than accuracyDrop", async () => {
    const model = unique("alerts");
    const baseline = { kind: "classification" as const, labelled: 500, accuracy: 0.9, precision: {}, recall: {}, f1: {}, log_loss: 0.3, calibration: { confidence: [], accuracy: [], count: [] } };
    const version = await publishManifest(model, (sha, size) => {
      const m = manifestFor(model, sha, size);
      m.profile.performance = baseline;
      return m;
    });
    const { token } = await createKey("default", "ingest");
    const config = { webhook: HOOK, accuracyDrop: 0.1, minLabelled: 10, windowMinutes: 2, minRows: 10 };
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config })).status).toBe(200);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    // each client labels its 20 rows, 10 right: accuracy 0.5; without the heaviest sender (20
    // rows, as if all its labels were wrong) 50 / 80 = 0.625, 0.275 below the baseline
    const labelled = (client: string, start: number) => {
      const m = new ConfusionMatrix(["no", "yes"]);
      for (let i = 0; i < 5; i++)
        for (const [actual, predicted] of [
          [0, 0],
          [1, 1],
          [0, 1],
          [1, 0],
        ] as const)
          m.update(actual, predicted);
      return { ...makeReport(model, version, { client, start, ...rows(false) }), confusion: toBase64(m.encode()) };
    };
    const clients = await clientsGiven(model, token, version, 5, "acc");
    await postReports(
      token,
      clients.map((client) => labelled(client, base + 60_000)),
    );
    await flush(model);
    await cron(base + 3 * 60_000 + 25_000);
    const mine = posted.filter((p) => p.text.includes(model));
    expect(mine.map((p) => `${p.alert.kind}:${p.alert.state}`)).toEqual(["accuracy_drop:firing"]);
    expect(mine[0]!.text).toContain("accuracy FIRING: 0.275 below the baseline (threshold 0.100)");
  });

  it("cannot be fired, nor a canary rolled back, by one sender's label counts", async () => {
    const model = unique("alerts");
    const baseline = { kind: "classification" as const, labelled: 500, accuracy: 0.9, precision: {}, recall: {}, f1: {}, log_loss: 0.3, calibration: { confidence: [], accuracy: [], count: [] } };
    const withBaseline = (sha: string, size: number) => {
      const m = manifestFor(model, sha, size);
      m.profile.performance = baseline;
      return m;
    };
    const v1 = await publishManifest(model, withBaseline);
    const v2 = await publishManifest(model, withBaseline);
    await rollout(model, { stable: v1, canary: { version: v2, percent: 50 } });
    const { token } = await createKey("default", "ingest");
    const config = { webhook: HOOK, accuracyDrop: 0.1, minLabelled: 10, windowMinutes: 2, minRows: 10 };
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config })).status).toBe(200);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const labelled = (client: string, rowsOf: { tenure: number[]; plan: string[] }, right: number, wrong: number) => {
      const m = new ConfusionMatrix(["no", "yes"]);
      for (let i = 0; i < right; i++) m.update(0, 0);
      for (let i = 0; i < wrong; i++) m.update(1, 0);
      return { ...makeReport(model, v2, { client, start: base + 60_000, ...rowsOf }), confusion: toBase64(m.encode()) };
    };
    // five honest canary clients label their 20 rows, every one right: accuracy 1, above the baseline
    const [attacker, ...honest] = await clientsGiven(model, token, v2, 6, "lab");
    // one client (one sender) reports a single row and a million labels, every one wrong: labels
    // may be for rows of earlier reports, so the wire allows it (at most the row cap)
    const answer = await postReports(token, [...honest.map((client) => labelled(client, rows(false), 20, 0)), labelled(attacker!, { tenure: [5], plan: ["pro"] }, 0, 1_000_000)]);
    expect(answer.accepted).toHaveLength(6);
    await flush(model);
    await cron(base + 3 * 60_000 + 25_000);
    expect(posted.filter((p) => p.text.includes(model)).map((p) => `${p.alert.kind}:${p.alert.state}`)).toEqual([]);
    expect(await (await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP })).json()).toMatchObject({ stable: v1, canary: { version: v2 } });
  });

  it("fires when the accuracy estimated without labels falls below the baseline by more than estimatedAccuracyDrop", async () => {
    const model = unique("alerts");
    const version = await publishWithEstimation(model, [0.5, 0.5], { rows: 100, accuracy: 0.02, f1: { no: null, yes: null } });
    const { token } = await createKey("default", "ingest");
    const config = { webhook: HOOK, estimatedAccuracyDrop: 0.1, windowMinutes: 2, minRows: 10 };
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config })).status).toBe(200);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    // no labels at all: 5 clients × 20 predictions the fit says are right half the time; without
    // the heaviest sender (as if all its 20 had been wrong) 50 / 80 = 0.625, 0.275 below the baseline
    const clients = await clientsGiven(model, token, version, 5, "est");
    await postReports(
      token,
      clients.map((client) => makeReport(model, version, { client, start: base + 60_000, ...rows(false) })),
    );
    await flush(model);
    await cron(base + 3 * 60_000 + 25_000);
    const mine = posted.filter((p) => p.text.includes(model));
    expect(mine.map((p) => `${p.alert.kind}:${p.alert.state}`)).toEqual(["estimated_accuracy_drop:firing"]);
    expect(mine[0]!.text).toContain("accuracy estimated without labels FIRING: 0.275 below the baseline (threshold 0.100)");
  });

  /**
   * A regression model with a baseline MAE of 1 and maeIncrease 0.5; five clients report the
   * reference's 200 rows with residuals ±`residual`; with `attacker`, a sixth reports one row and a
   * million residuals of 1,000. Returns the alerts posted and their texts.
   */
  async function maeAlerts(residual: number, attacker: boolean, far = { value: 1000, n: 1_000_000 }) {
    const model = unique("alerts");
    const x = new NumericSketch();
    const c = new CategoricalSketch(["a", "b"]);
    const p = new NumericSketch();
    for (let i = 0; i < 200; i++) {
      x.update(i % 50);
      c.update(i % 2 ? "a" : "b");
      p.update((i % 10) / 10);
    }
    const version = await publishManifest(model, (sha, size) => {
      const m = twoFeatureManifest({ model, sha256: sha, size }, { name: "x", sketch: x }, { name: "c", sketch: c }, { rows: 200, prediction: p });
      m.profile.performance = { kind: "regression", labelled: 200, mae: 1, rmse: 1.2 };
      return m;
    });
    const { token } = await createKey("default", "ingest");
    const config = { webhook: HOOK, maeIncrease: 0.5, minLabelled: 10, windowMinutes: 2, minRows: 10 };
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: config })).status).toBe(200);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const withResiduals = (i: number, rows: number, parts: { x: NumericSketch; c: CategoricalSketch; p: NumericSketch }, values: (j: number) => number, n: number) => {
      const sketch = new NumericSketch();
      for (let j = 0; j < n; j++) sketch.update(values(j));
      const report = sketchReport(model, version, i, { start: base + 60_000, segment: {}, rows, features: { x: parts.x, c: parts.c }, prediction: parts.p });
      return { ...report, residual: toBase64(sketch.encode()) };
    };
    const reports = Array.from({ length: 5 }, (_, i) => withResiduals(i, 200, { x, c, p }, (j) => (j % 2 ? residual : -residual), 200));
    if (attacker) {
      const one = { x: new NumericSketch(), c: new CategoricalSketch(["a", "b"]), p: new NumericSketch() };
      one.x.update(1);
      one.c.update("a");
      one.p.update(0.5);
      reports.push(withResiduals(5, 1, one, () => far.value, far.n));
    }
    const answer = await postReports(token, reports);
    expect(answer.rejected).toEqual([]);
    expect(answer.accepted).toHaveLength(reports.length);
    await flush(model);
    await cron(base + 3 * 60_000 + 25_000);
    const mine = posted.filter((x) => x.text.includes(model));
    return { kinds: mine.map((x) => `${x.alert.kind}:${x.alert.state}`), texts: mine.map((x) => x.text) };
  }

  it("fires when the mean absolute residual from on-device labels exceeds the baseline's by more than maeIncrease", async () => {
    // residuals ±3: MAE 3, 2.0 above the baseline's 1 as a share
    const { kinds, texts } = await maeAlerts(3, false);
    expect(kinds).toEqual(["mae_increase:firing"]);
    expect(texts[0]).toContain("mean absolute error FIRING: 2.00 above the baseline's");
  });

  it("cannot be fired by one sender's residuals", async () => {
    // honest residuals ±0.5 (MAE 0.5, below the baseline); one sender's million residuals of 1,000 are left out
    expect((await maeAlerts(0.5, true)).kinds).toEqual([]);
  });

  it("cannot be fired by one sender's residuals at the far end of the float range", async () => {
    // 500 of 1,500 labels: keep = 1 − 1/3 rounds above the honest labels' 2/3, and the mean of the
    // smallest residuals took in a sliver of a 3e38 one
    for (const n of [50, 500, 1_000]) expect((await maeAlerts(0.5, true, { value: 3e38, n })).kinds, `${n} residuals`).toEqual([]);
  });

  it("lists an app's alerts however many newer ones other apps have", async () => {
    const [mine, theirs] = [unique("app"), unique("app")];
    const model = unique("alerts");
    await publish(model, BOOTSTRAP, { app: mine });
    await publish(model, BOOTSTRAP, { app: theirs });
    const insert = env.DB.prepare(
      "INSERT INTO alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, attempts) VALUES (?, 1, 'error_rate', '', ?, 0.5, 0.2, 0, 60000, 'm', 0, 0)",
    );
    // one alert of this app's model, then 1,000 newer ones of the other app's
    await insert.bind(`${mine}/${model}`, "firing").run();
    await env.DB.batch(Array.from({ length: 1000 }, (_, i) => insert.bind(`${theirs}/${model}`, i % 2 ? "firing" : "resolved")));
    const { token: read } = await createKey(mine, "read");
    const res = await call("GET", "/v1/alerts?limit=10", { token: read });
    expect(res.status).toBe(200);
    const { alerts } = (await res.json()) as { alerts: { model: string; state: string }[] };
    expect(alerts.map((a) => `${a.model}:${a.state}`)).toEqual([`${model}:firing`]);
  });

  it("names each alert's app: the bootstrap key sees two apps' models of one name, and a model from before names were scoped by app", async () => {
    const [one, two] = [unique("app"), unique("app")];
    const [model, old] = [unique("alerts"), unique("old")];
    await publish(model, BOOTSTRAP, { app: one });
    await publish(model, BOOTSTRAP, { app: two });
    // a model created before migration 0003: its key is its bare name, which names no app
    await env.DB.prepare("INSERT INTO models (id, app, name, created_at) VALUES (?, ?, ?, 0)").bind(old, two, old).run();
    const state = env.DB.prepare("INSERT INTO alert_states (model, version, kind, subject, state, since) VALUES (?, 1, 'error_rate', '', 'firing', ?)");
    const alert = env.DB.prepare(
      "INSERT INTO alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, attempts) VALUES (?, 1, 'error_rate', '', 'firing', 0.5, 0.2, 0, 60000, 'm', ?, 0)",
    );
    const rollout = env.DB.prepare("INSERT INTO rollouts (model, stable, config_version, sample_rate, salt, updated_at) VALUES (?, 1, 1, 1, 's', 0)");
    await env.DB.batch([rollout.bind(old), ...[`${one}/${model}`, `${two}/${model}`, old].flatMap((key, i) => [state.bind(key, 1000 + i), alert.bind(key, 1000 + i)])]);
    const list = async (query: string) => {
      const res = await call("GET", `/v1/alerts?${query}`, { token: BOOTSTRAP });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { alerts: { app?: string; model: string }[] }).alerts.map((a) => `${a.app}/${a.model}`);
    };
    const expected = [`${two}/${old}`, `${two}/${model}`, `${one}/${model}`];
    for (const query of ["limit=3", "state=firing&limit=3"]) expect(await list(query), query).toEqual(expected);
    expect(await list(`model=${model}&app=${one}`)).toEqual([`${one}/${model}`]);
  });

  it("lists the alerts firing now however many state changes came after them (state=firing)", async () => {
    const [mine, theirs] = [unique("app"), unique("app")];
    const model = unique("alerts");
    await publish(model, BOOTSTRAP, { app: mine });
    await publish(model, BOOTSTRAP, { app: theirs });
    const state = env.DB.prepare("INSERT INTO alert_states (model, version, kind, subject, state, since) VALUES (?, 1, ?, ?, ?, ?)");
    const alert = env.DB.prepare(
      "INSERT INTO alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, attempts) VALUES (?, 1, ?, ?, ?, 0.5, 0.2, 0, 60000, 'm', ?, 0)",
    );
    const [key, other] = [`${mine}/${model}`, `${theirs}/${model}`];
    // error_rate fired at 1,000 and still fires; a device class's p95 then flapped 600 times and
    // is resolved; accuracy fired and resolved; version 2, which the rollout does not serve,
    // fires still (it is no longer judged); the other app's model fires too
    await env.DB.batch([
      state.bind(key, "error_rate", "", "firing", 1000),
      alert.bind(key, "error_rate", "", "firing", 1000),
      state.bind(key, "accuracy_drop", "", "resolved", 3000),
      alert.bind(key, "accuracy_drop", "", "firing", 2000),
      alert.bind(key, "accuracy_drop", "", "resolved", 3000),
      state.bind(key, "latency_p95", "mobile-x", "resolved", 5599),
      ...Array.from({ length: 600 }, (_, i) => alert.bind(key, "latency_p95", "mobile-x", i % 2 ? "resolved" : "firing", 5000 + i)),
      env.DB.prepare("INSERT INTO alert_states (model, version, kind, subject, state, since) VALUES (?, 2, 'error_rate', '', 'firing', 8000)").bind(key),
      env.DB.prepare(
        "INSERT INTO alerts (model, version, kind, subject, state, value, threshold, window_from, window_to, message, at, attempts) VALUES (?, 2, 'error_rate', '', 'firing', 0.5, 0.2, 0, 60000, 'm', 8000, 0)",
      ).bind(key),
      state.bind(other, "error_rate", "", "firing", 9000),
      alert.bind(other, "error_rate", "", "firing", 9000),
    ]);
    const { token: read } = await createKey(mine, "read");
    const list = async (query: string) => {
      const res = await call("GET", `/v1/alerts?${query}`, { token: read });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { alerts: { model: string; kind: string; state: string; at: string }[] }).alerts.map((a) => `${a.kind}:${a.state}@${Date.parse(a.at)}`);
    };
    // the newest 500 changes no longer hold the one that fires
    expect(await list("limit=500")).not.toContain("error_rate:firing@1000");
    expect(await list("state=firing&limit=10")).toEqual(["error_rate:firing@1000"]);
    expect(await list(`state=firing&model=${model}`)).toEqual(["error_rate:firing@1000"]);
    expect((await call("GET", "/v1/alerts?state=resolved", { token: read })).status).toBe(400);
  });

  it("validates the configuration", async () => {
    const model = unique("alerts");
    await publish(model);
    await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: "ftp://x" } }), 400, "validation");
    await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, errorRate: 2 } }), 400, "validation");
    await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, extra: 1 } }), 400, "validation");
    await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, confirm: { k: 3, m: 2 } } }), 400, "validation");
    await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: HOOK, confirm: { k: 1, m: 61 } } }), 400, "validation");
    // a misspelt feature would watch nothing and never fire
    expect(await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { featureDrift: ["tenure", "tenur"] } }), 400, "validation")).toBe(
      'featureDrift: "tenur": not a feature of version 1 (tenure, plan)',
    );
    expect((await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { featureDrift: ["tenure", "plan", "*"] } })).status).toBe(200);
    const { token: read } = await createKey("default", "read");
    expect(await expectError(await call("PUT", `/v1/models/${model}/alerts`, { token: read, json: { webhook: HOOK } }), 403, "forbidden")).toBe("this route needs an admin key; this is a read key");
  });
});
