// The rollout channel (GET /v1/rollout-channel): a page subscribes with its ingest key and is sent
// the model's config version on connect and after every rollout change. test/worker/vitest.config.ts
// bounds it to 4 subscriptions per key and 2 per network, so the bounds are reachable.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import worker from "../../../../collector/index.ts";
import { rolloutChannel } from "../../../../collector/push/announce.ts";
import { SUBSCRIPTION_HEADER, type Subscription } from "../../../../collector/push/rollout-channel.ts";
import { modelKey } from "../../../../collector/registry/model-key.ts";
import { clientsGiven, flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, canaryWithAlerts, createKey, expectError, publish, rollout, unique } from "../../registry-helpers.ts";

const HOOK = "https://hooks.example.test/push";
const realFetch = globalThis.fetch;
// Only the guardrail's external webhook receiver is mocked; everything else is the real collector.
const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  return url.startsWith(HOOK) ? new Response("ok") : realFetch(input, init);
});
afterAll(() => spy.mockRestore());

const PER_KEY = 4;
const PER_NETWORK = 2;

/** An open subscription: the config versions received so far, in order. */
interface Subscriber {
  socket: WebSocket;
  versions: number[];
  closed: Promise<CloseEvent>;
}

function upgrade(model: string, token: string, headers: Record<string, string> = {}): Promise<Response> {
  return call("GET", `/v1/rollout-channel?model=${model}&key=${encodeURIComponent(token)}`, { headers: { Upgrade: "websocket", ...headers } });
}

async function subscribe(model: string, token: string, headers: Record<string, string> = {}): Promise<Subscriber> {
  const res = await upgrade(model, token, headers);
  expect(res.status, res.status === 101 ? "" : await res.text()).toBe(101);
  const socket = res.webSocket!;
  const versions: number[] = [];
  const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
  socket.addEventListener("message", (e) => versions.push((JSON.parse(e.data as string) as { configVersion: number }).configVersion));
  socket.accept();
  await vi.waitFor(() => expect(versions.length).toBeGreaterThan(0));
  return { socket, versions, closed };
}

async function configVersion(model: string): Promise<number> {
  const res = await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP });
  return ((await res.json()) as { configVersion: number }).configVersion;
}

/** Waits until every subscriber was sent `version` last. */
async function allSent(subscribers: Subscriber[], version: number): Promise<void> {
  await vi.waitFor(() => expect(subscribers.map((s) => s.versions.at(-1))).toEqual(subscribers.map(() => version)));
}

describe("rollout channel", () => {
  it("sends the current config version on connect, and every rollout change to every subscriber at once", async () => {
    const { model, token } = await liveModel("push");
    const subscribers = [await subscribe(model, token), await subscribe(model, token, { "CF-Connecting-IP": "198.51.100.31" })];
    expect(subscribers.map((s) => s.versions)).toEqual([[await configVersion(model)], [await configVersion(model)]]);
    const { version: v2 } = await publish(model);
    const { version: v3 } = await publish(model);
    const changes: Array<[string, () => Promise<unknown>]> = [
      ["publish to stable", () => rollout(model, { stable: v2 })],
      ["canary start", () => rollout(model, { canary: { version: v3, percent: 10 } })],
      ["canary widening", () => rollout(model, { canary: { version: v3, percent: 50 } })],
      ["promote", () => rollout(model, { stable: v3 })],
      ["shadow", () => rollout(model, { shadow: { version: v2, sampleRate: 0.5 } })],
      ["rollback", () => call("POST", `/v1/models/${model}/rollback`, { token: BOOTSTRAP })],
    ];
    for (const [what, change] of changes) {
      const before = await configVersion(model);
      await change();
      expect(await configVersion(model), what).toBe(before + 1);
      await allSent(subscribers, before + 1);
    }
    // a PUT that changes nothing sends nothing
    const sent = subscribers[0]!.versions.length;
    expect((await rollout(model, { sampleRate: 1 })).changed).toBe(false);
    await rollout(model, { sampleRate: 0.5 });
    await allSent(subscribers, await configVersion(model));
    expect(subscribers[0]!.versions.length).toBe(sent + 1);
    for (const s of subscribers) s.socket.close(1000);
  });

  it("sends the guardrail's rollback of a failing canary", async () => {
    const { model, v1, v2, token } = await canaryWithAlerts("push-guard", { webhook: HOOK, errorRate: 0.2, windowMinutes: 2, minRows: 10 });
    const subscriber = await subscribe(model, token);
    const before = subscriber.versions[0]!;
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const canaryClients = await clientsGiven(model, token, v2, 5, "c");
    await postReports(
      token,
      canaryClients.map((client) => makeReport(model, v2, { client, start: base + 60_000, tenure: Array.from({ length: 20 }, (_, i) => i), errors: { session: 10 } })),
    );
    await flush(model);
    await worker.scheduled(createScheduledController({ scheduledTime: base + 3 * 60_000 + 25_000, cron: "* * * * *" }), env);
    const after = await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP });
    expect(await after.json()).toMatchObject({ stable: v1, canary: null, configVersion: before + 1 });
    await allSent([subscriber], before + 1);
    subscriber.socket.close(1000);
  });

  it("answers a subscriber that was away with the version it missed", async () => {
    const { model, token } = await liveModel("push-resume");
    const first = await subscribe(model, token);
    first.socket.close(1000);
    const { version: v2 } = await publish(model);
    await rollout(model, { stable: v2 });
    const again = await subscribe(model, token);
    expect(again.versions).toEqual([first.versions[0]! + 1]);
    again.socket.close(1000);
  });

  it("refuses what a report would refuse: no upgrade, bad keys, other apps' models, other origins, a read key", async () => {
    const { model, token } = await liveModel("push-refuse");
    await expectError(await call("GET", `/v1/rollout-channel?model=${model}&key=${token}`), 426, "validation");
    await expectError(await upgrade(model, "ing_not_a_key"), 401, "unauthorized");
    await expectError(await call("GET", `/v1/rollout-channel?model=${model}`, { headers: { Upgrade: "websocket" } }), 401, "unauthorized");
    await expectError(await upgrade("no-such-model", token), 404, "not_found");
    const app = unique("push-other");
    const other = await createKey(app, "ingest");
    await expectError(await upgrade(model, other.token), 404, "not_found");
    const bound = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "ingest", origins: ["https://shop.example"] } });
    const boundKey = ((await bound.json()) as { token: string }).token;
    await expectError(await upgrade(model, boundKey, { Origin: "https://evil.example" }), 403, "forbidden");
    const ok = await subscribe(model, boundKey, { Origin: "https://shop.example" });
    ok.socket.close(1000);
    const read = await createKey("default", "read");
    await expectError(await upgrade(model, read.token), 403, "forbidden");
  });

  it("bounds open subscriptions per network and per key, and frees a slot when one closes", async () => {
    const { model, token } = await liveModel("push-bounds");
    const ip = (n: number) => ({ "CF-Connecting-IP": `192.0.2.${n}` });
    const open = [await subscribe(model, token, ip(1)), await subscribe(model, token, ip(1))];
    const full = await expectError(await upgrade(model, token, ip(1)), 429, "rate_limited");
    expect(full).toContain(`${PER_NETWORK} subscriptions`);
    // an IPv6 network counts as its /64
    open.push(await subscribe(model, token, { "CF-Connecting-IP": "2001:db8:5:5::1" }), await subscribe(model, token, { "CF-Connecting-IP": "2001:db8:5:5::2" }));
    expect(open).toHaveLength(PER_KEY);
    expect(await expectError(await upgrade(model, token, ip(3)), 429, "rate_limited")).toContain(`${PER_KEY} subscriptions`);
    // another key of the app is counted on its own
    const second = await createKey("default", "ingest");
    const other = await subscribe(model, second.token, ip(4));
    // a closed subscription frees its slot
    open[0]!.socket.close(1000);
    await open[0]!.closed;
    await vi.waitFor(async () => {
      const res = await upgrade(model, token, ip(1));
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close(1000);
    });
    for (const s of [...open.slice(1), other]) s.socket.close(1000);
  });

  it("closes a revoked key's subscriptions, so it hears of no rollout change after its revocation", async () => {
    const { model } = await liveModel("push-revoked");
    const key = await createKey("default", "ingest");
    const kept = await createKey("default", "ingest");
    const [revoked, other] = [await subscribe(model, key.token), await subscribe(model, kept.token)];
    const revoke = await call("DELETE", `/v1/keys/${key.id}`, { token: BOOTSTRAP });
    expect(revoke.status, await revoke.text()).toBe(200);
    const { version: v2 } = await publish(model);
    await rollout(model, { stable: v2 });
    const now = await configVersion(model);
    await allSent([other], now);
    expect(revoked.versions).not.toContain(now);
    expect((await revoked.closed).code).toBe(1008);
    other.socket.close(1000);
    // an isolate that still has the key cached (collector/auth.ts) passes it on: the channel itself refuses it
    const subscription: Subscription = { keyId: key.id, network: null, configVersion: now, limits: { perKey: PER_KEY, perNetwork: PER_NETWORK } };
    const direct = await rolloutChannel(env, modelKey("default", model)).fetch("https://rollout-channel/subscribe", {
      headers: { Upgrade: "websocket", [SUBSCRIPTION_HEADER]: JSON.stringify(subscription) },
    });
    await expectError(direct, 401, "unauthorized");
  });

  it("closes a subscriber that sends anything (the channel takes no messages)", async () => {
    const { model, token } = await liveModel("push-quiet");
    const s = await subscribe(model, token);
    s.socket.send(JSON.stringify({ configVersion: 99, model: "other" }));
    expect((await s.closed).code).toBe(1008);
  });
});
