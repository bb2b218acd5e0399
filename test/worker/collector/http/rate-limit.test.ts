// Rate limits of the routes pages call (reports, assignment, artifacts, rollout channel) and,
// counted apart, of every other route: per client address (CF-Connecting-IP, before the key is
// checked), and of the routes pages call per ingest key too, from the
// [[ratelimits]] bindings. test/worker/vitest.config.ts sets them to 20 per address and 250 per
// key per 60 s (so a burst fits in one fixed window even when requests are slow); a 429 says when
// to retry.
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../../protocol/limits.ts";
import { liveModel, makeReport } from "../../ingest-helpers.ts";
import { call, createKey, expectError } from "../../registry-helpers.ts";

const PER_ADDRESS = 20;
const PER_KEY = 250;
const PERIOD_MS = 60_000;

/** Waits for a fresh window unless 45 s are left in this one, so a burst falls in one window. */
async function freshWindow(): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < 45_000) await new Promise((r) => setTimeout(r, left + 50));
}

function junk(token: string, ip?: string): Promise<Response> {
  return call("POST", "/v1/reports", { token, headers: { "Content-Type": "application/json", ...(ip && { "CF-Connecting-IP": ip }) }, body: "{junk" });
}

/** Statuses of `n` requests, sent 10 at a time (so a burst fits in one window on a busy machine). */
async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const wave = await Promise.all(Array.from({ length: Math.min(10, n - out.length) }, send));
    for (const res of wave) {
      await res.body?.cancel();
      out.push(res.status);
    }
  }
  return out;
}

describe("rate limits", { timeout: 120_000 }, () => {
  it("answers 429 with Retry-After once one address sent its limit, on every page route; other addresses go on", async () => {
    const { model, version, token } = await liveModel("rl-ip");
    const attacker = "203.0.113.9";
    await freshWindow();
    const first = await statuses(PER_ADDRESS, () => junk(token, attacker));
    expect(first.every((s) => s === 400)).toBe(true);
    const limited = await junk(token, attacker);
    expect(limited.headers.get("Retry-After")).toBe("10");
    await expectError(limited, 429, "rate_limited");
    // the address is limited before its key is checked, and on the assignment and artifact routes too
    await expectError(await junk("ing_not_a_key", attacker), 429, "rate_limited");
    await expectError(await call("GET", `/v1/assignment?model=${model}&client=c1`, { token, headers: { "CF-Connecting-IP": attacker } }), 429, "rate_limited");
    await expectError(await call("GET", `/v1/artifacts/${"0".repeat(64)}`, { token, headers: { "CF-Connecting-IP": attacker } }), 429, "rate_limited");
    await expectError(await call("GET", `/v1/rollout-channel?model=${model}&key=${token}`, { headers: { "CF-Connecting-IP": attacker, Upgrade: "websocket" } }), 429, "rate_limited");
    // an IPv6 attacker counts as its /64, whatever address in it it sends from
    const v6 = await statuses(PER_ADDRESS + 1, () => junk(token, `2001:db8:7:7::${Math.floor(Math.random() * 0xffff).toString(16)}`));
    expect(v6.at(-1)).toBe(429);
    // every other route (what operators call) is limited per address too, counted apart: the page
    // flood left it untouched, and a flood of junk keys uses it up before any key is looked up
    const operator = (method: string, path: string) => call(method, path, { token: "adm_not_a_key", headers: { "CF-Connecting-IP": attacker } });
    const junkKeys = await statuses(PER_ADDRESS, () => operator("GET", "/v1/models"));
    expect(junkKeys.every((s) => s === 401)).toBe(true);
    for (const [method, path] of [
      ["GET", "/v1/models"],
      ["GET", `/v1/drift?model=${model}`],
      ["POST", `/v1/reports/flush?model=${model}`],
      ["GET", "/v1/keys"],
      ["GET", "/healthz"],
      ["GET", "/metrics"],
    ] as const) {
      await expectError(await operator(method, path), 429, "rate_limited");
    }
    // an honest client elsewhere, with the same key, is not affected
    const report = makeReport(model, version, { client: "honest" });
    const honest = await call("POST", "/v1/reports", { token, json: { reports: [report] }, headers: { "CF-Connecting-IP": "198.51.100.20" } });
    expect(honest.status).toBe(200);
    expect(((await honest.json()) as { accepted: string[] }).accepted).toEqual([report.id]);
  });

  it("answers 429 once one ingest key sent its limit from any number of addresses; other keys go on", async () => {
    const { model, version, token } = await liveModel("rl-key");
    const { token: other } = await createKey("default", "ingest");
    await freshWindow();
    let n = 0;
    const first = await statuses(PER_KEY, () => junk(token, `10.0.${n >> 8}.${n++ & 255}`));
    expect(first.every((s) => s === 400)).toBe(true);
    const limited = await junk(token, "10.9.9.9");
    expect(limited.headers.get("Retry-After")).toBe("10");
    await expectError(limited, 429, "rate_limited");
    await expectError(await call("GET", `/v1/assignment?model=${model}&client=c1`, { token }), 429, "rate_limited");
    await expectError(await call("GET", `/v1/rollout-channel?model=${model}&key=${token}`, { headers: { Upgrade: "websocket" } }), 429, "rate_limited");
    const report = makeReport(model, version, { client: "other-key" });
    const res = await call("POST", "/v1/reports", { token: other, json: { reports: [report] } });
    expect(res.status).toBe(200);
  });

  it("refuses a body declared over the batch limit before it reads the key or the body", async () => {
    const body = new Uint8Array(LIMITS.batchBytes + 1);
    await expectError(await call("POST", "/v1/reports", { token: "ing_not_a_key", headers: { "Content-Type": "application/json" }, body }), 413, "payload_too_large");
  });
});
