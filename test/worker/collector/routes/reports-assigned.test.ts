import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Report } from "../../../../protocol/schema/report.ts";
import { modelKey } from "../../../../collector/registry/model-key.ts";
import { flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, publish, rollout, unique } from "../../registry-helpers.ts";

/** A model with versions 1..3 (1 stable) and an ingest key. */
async function threeVersions(): Promise<{ model: string; token: string }> {
  const model = unique("assigned");
  for (let i = 0; i < 3; i++) await publish(model);
  const { token } = await createKey("default", "ingest");
  return { model, token };
}

/** The role `GET /v1/assignment` gives each client. */
async function roles(model: string, token: string, clients: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const client of clients) {
    const res = await call("GET", `/v1/assignment?model=${model}&client=${client}`, { token });
    expect(res.status).toBe(200);
    out.set(client, ((await res.json()) as { role: string }).role);
  }
  return out;
}

/** One client in the canary share and one outside it. */
async function inAndOut(model: string, token: string): Promise<{ inside: string; outside: string }> {
  const all = await roles(
    model,
    token,
    Array.from({ length: 40 }, (_, i) => `client-${i}`),
  );
  const inside = [...all].find(([, role]) => role === "canary")?.[0];
  const outside = [...all].find(([, role]) => role === "stable")?.[0];
  expect(inside && outside).toBeTruthy();
  return { inside: inside!, outside: outside! };
}

/** Ingest counters of every shard, summed. */
async function counters(model: string): Promise<Record<string, number>> {
  const res = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
  return ((await res.json()) as { total: Record<string, number> }).total;
}

/** Reports and rows `/v1/stats` counts for a version over the last hour. */
async function counted(model: string, version: number): Promise<{ reports: number; rows: number }> {
  const res = await call("GET", `/v1/stats?model=${model}&version=${version}&window=minute&from=${new Date(Date.now() - 3_600_000).toISOString()}`, { token: BOOTSTRAP });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { reports: number; rows: number };
  return { reports: body.reports, rows: body.rows };
}

/** Moves the model's replaced rollout states back past the grace period, and lets the one-second rollout cache expire. */
async function pastGrace(model: string): Promise<void> {
  const grace = Number(env.ROLLOUT_GRACE_MS);
  await env.DB.prepare("update rollout_history set ended_at = ended_at - ? where model = ?")
    .bind(grace + 1, modelKey("default", model))
    .run();
  await new Promise((r) => setTimeout(r, 1100));
}

/** A shadow report as the runtime sends it: the live version, and the shadow's agreement. */
function shadowReport(model: string, live: number, shadow: number, client: string): Report {
  return { ...makeReport(model, live, { client }), role: "shadow", rows: 0, features: {}, prediction: undefined, latency: undefined, shadow: { version: shadow, rows: 5, agree: 4 } };
}

describe("a client reports only what it may run", () => {
  it("refuses a canary report from a client outside the canary share and counts it nowhere", async () => {
    const { model, token } = await threeVersions();
    await rollout(model, { canary: { version: 2, percent: 30 } });
    const { inside, outside } = await inAndOut(model, token);

    const stray = makeReport(model, 2, { client: outside });
    const answer = await postReports(token, [stray]);
    expect(answer.accepted).toEqual([]);
    expect(answer.rejected).toEqual([{ id: stray.id, code: "not_assigned", message: "version 2 is not assigned to this client as live" }]);
    // the answer still tells the client what to run
    expect(answer.assignment).toMatchObject({ model, version: 1, role: "stable" });
    await flush(model);
    expect(await counters(model)).toMatchObject({ accepted: 0, rejected: 0, pending: 0, flushes: 0 });
    expect(await counted(model, 2)).toEqual({ reports: 0, rows: 0 });

    const good = [makeReport(model, 2, { client: inside }), makeReport(model, 1, { client: outside }), makeReport(model, 1, { client: inside })];
    expect((await postReports(token, good)).accepted.sort()).toEqual(good.map((r) => r.id).sort());
    // a version nobody was given (3) is refused too
    expect((await postReports(token, [makeReport(model, 3, { client: inside })])).rejected[0]?.code).toBe("not_assigned");
    await flush(model);
    expect(await counters(model)).toMatchObject({ accepted: 3, rejected: 0 });
    expect(await counted(model, 2)).toEqual({ reports: 1, rows: 3 });
  });

  it("accepts the rolled-back canary within the grace period, and refuses it after", async () => {
    const { model, token } = await threeVersions();
    await rollout(model, { canary: { version: 2, percent: 30 } });
    const { inside, outside } = await inAndOut(model, token);
    const back = await call("POST", `/v1/models/${model}/rollback`, { token: BOOTSTRAP });
    expect(back.status).toBe(200);

    const late = makeReport(model, 2, { client: inside });
    expect((await postReports(token, [late])).accepted).toEqual([late.id]);
    // the grace covers what the old state gave this client, not any client
    expect((await postReports(token, [makeReport(model, 2, { client: outside })])).rejected[0]?.code).toBe("not_assigned");

    await pastGrace(model);
    const tooLate = makeReport(model, 2, { client: inside });
    expect((await postReports(token, [tooLate])).rejected).toEqual([expect.objectContaining({ id: tooLate.id, code: "not_assigned" })]);
    await flush(model);
    expect(await counters(model)).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it("accepts the previous stable within the grace period after a promote, and refuses it after", async () => {
    const { model, token } = await threeVersions();
    await rollout(model, { stable: 2 });
    const old = makeReport(model, 1, { client: "c-old" });
    expect((await postReports(token, [old, makeReport(model, 2, { client: "c-old" })])).accepted).toHaveLength(2);
    await pastGrace(model);
    expect((await postReports(token, [makeReport(model, 1, { client: "c-old" })])).rejected[0]?.code).toBe("not_assigned");
    expect((await postReports(token, [makeReport(model, 2, { client: "c-old" })])).accepted).toHaveLength(1);
  });

  it("accepts shadow reports of the shadow version only", async () => {
    const { model, token } = await threeVersions();
    const noShadow = shadowReport(model, 1, 3, "c-s");
    expect((await postReports(token, [noShadow])).rejected[0]).toMatchObject({ code: "not_assigned", message: "version 3 is not this client's shadow" });
    await rollout(model, { shadow: { version: 3, sampleRate: 1 } });
    const good = shadowReport(model, 1, 3, "c-s");
    const wrong = shadowReport(model, 1, 2, "c-s");
    const answer = await postReports(token, [good, wrong]);
    expect(answer.accepted).toEqual([good.id]);
    expect(answer.rejected).toEqual([expect.objectContaining({ id: wrong.id, code: "not_assigned" })]);
    // a live report cannot name the shadow version as its own
    expect((await postReports(token, [makeReport(model, 3, { client: "c-s" })])).rejected[0]?.code).toBe("not_assigned");
  });

  it("shows a shadow's agreement with the range one sender cannot move it out of", async () => {
    const { model, token } = await threeVersions();
    await rollout(model, { shadow: { version: 3, sampleRate: 1 } });
    const agreement = async () => {
      await flush(model);
      const res = await call("GET", `/v1/stats?model=${model}&version=1&role=shadow&from=${new Date(Date.now() - 3_600_000).toISOString()}`, { token: BOOTSTRAP });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { shadow: Record<string, { rows: number; agreement: number; agreement_range: [number, number] | null }> }).shadow["3"]!;
    };
    // ten clients (ten senders here: no client address) whose shadow agrees on 19 of 20 rows
    const honest = Array.from({ length: 10 }, (_, i) => {
      const r = shadowReport(model, 1, 3, `honest-${i}`);
      return { ...r, shadow: { ...r.shadow!, rows: 20, agree: 19 } };
    });
    expect((await postReports(token, honest)).accepted).toHaveLength(10);
    const fair = await agreement();
    expect([fair.rows, fair.agreement]).toEqual([200, 0.95]);
    expect(fair.agreement_range).toEqual([(190 - 20) / 180, 1]);
    // one client's report of one row claims a million shadow rows that all disagree
    const attack = shadowReport(model, 1, 3, "attacker");
    expect((await postReports(token, [{ ...attack, shadow: { ...attack.shadow!, rows: 1_000_000, agree: 0 } }])).accepted).toHaveLength(1);
    const attacked = await agreement();
    expect(attacked.agreement).toBeCloseTo(190 / 1_000_200, 10);
    // the rest of the fleet's 0.95 stays inside the range: the sender widened it, it could not move it away
    expect(attacked.agreement_range).toEqual([0, 0.95]);
  });
});
