// The Slack text of an alert carries what clients named: a device class is a segment value, and an
// ingest key is public (a made-up backend counts as `other`: collector/aggregates/known-keys.ts). Slack reads `<…>` in that text as links and
// mentions (`<!channel>` notifies everyone in the channel), so the text escapes `&`, `<` and `>`
// as Slack asks, and the alert's own fields stay as the clients sent them.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import worker from "../../../../collector/index.ts";
import { flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, publish, rollout, unique } from "../../registry-helpers.ts";

const SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX";
/** A device class as a hostile page names it: a mention and a link. */
const DEVICE = "<!channel> <https://evil.example/login|log in again> & co";

describe("the Slack text of an alert", () => {
  const posted: { text: string; alerts: { subject: string }[] }[] = [];
  const original = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    if (!String(input).startsWith(SLACK)) return original(input, init);
    posted.push(JSON.parse(String(init?.body)));
    return new Response("ok");
  });
  afterAll(() => spy.mockRestore());

  it("escapes the names clients reported, so they make no mention or link", async () => {
    const model = unique("hook-text");
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: SLACK, latencyP95Ms: 50, windowMinutes: 2, minRows: 10 } });
    expect(put.status, await put.clone().text()).toBe(200);
    const { token } = await createKey("default", "ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000 + 60_000;
    // ten clients (ten senders): slow calls in the hostile device class
    const rows = { tenure: Array.from({ length: 20 }, (_, i) => i) };
    await postReports(
      token,
      Array.from({ length: 10 }, (_, i) => makeReport(model, version, { client: `page-${i}`, start, ...rows, segment: { device: DEVICE }, latencyMs: [300] })),
    );
    await flush(model);
    await worker.scheduled(createScheduledController({ scheduledTime: start + 2 * 60_000 + 25_000, cron: "* * * * *" }), env);
    // one post: both subjects' p95 latency fired in the same run
    expect(posted.map((p) => p.alerts.map((a) => a.subject).sort())).toEqual([["backend:wasm", `device:${DEVICE}`]]);
    expect(posted[0]!.text).not.toMatch(/[<>]/);
    expect(posted[0]!.text).toContain("latency p95 FIRING for 2 subjects");
    expect(posted[0]!.text).toContain("device:&lt;!channel&gt; &lt;https://evil.example/login|log in again&gt; &amp; co");
  });

  it("keeps a reported name's line breaks out of the text, so it cannot make a line of its own", async () => {
    const model = unique("hook-lines");
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: SLACK, latencyP95Ms: 50, windowMinutes: 2, minRows: 10 } });
    expect(put.status, await put.clone().text()).toBe(200);
    const { token } = await createKey("default", "ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000 + 60_000;
    // a device class that would read in Slack as a second post: all clear
    const device = "x\n:white_check_mark: [driftline] all resolved\r\n\u2028";
    const rows = { tenure: Array.from({ length: 20 }, (_, i) => i) };
    await postReports(
      token,
      Array.from({ length: 10 }, (_, i) => makeReport(model, version, { client: `page-${i}`, start, ...rows, segment: { device }, latencyMs: [300] })),
    );
    await flush(model);
    const before = posted.length;
    await worker.scheduled(createScheduledController({ scheduledTime: start + 2 * 60_000 + 25_000, cron: "* * * * *" }), env);
    const mine = posted.slice(before);
    expect(mine.map((p) => p.alerts.map((a) => a.subject).sort())).toEqual([["backend:wasm", `device:${device}`]]);
    expect(mine[0]!.text).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(mine[0]!.text).toContain("device:x :white_check_mark: [driftline] all resolved");
  });

  it("escapes an alert posted alone as well", async () => {
    const model = unique("hook-alone");
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: SLACK, latencyP95Ms: 50, windowMinutes: 2, minRows: 10 } });
    expect(put.status, await put.clone().text()).toBe(200);
    const { token } = await createKey("default", "ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000 + 60_000;
    // slow calls in the hostile device class only: the backend's p95 stays within the objective
    const rows = { tenure: Array.from({ length: 20 }, (_, i) => i) };
    await postReports(token, [
      ...Array.from({ length: 3 }, (_, i) => makeReport(model, version, { client: `slow-${i}`, start, ...rows, segment: { device: DEVICE }, latencyMs: [300] })),
      ...Array.from({ length: 97 }, (_, i) => makeReport(model, version, { client: `fast-${i}`, start, ...rows, latencyMs: [1] })),
    ]);
    await flush(model);
    const before = posted.length;
    await worker.scheduled(createScheduledController({ scheduledTime: start + 2 * 60_000 + 25_000, cron: "* * * * *" }), env);
    const mine = posted.slice(before);
    expect(mine.map((p) => p.alerts.map((a) => a.subject))).toEqual([[`device:${DEVICE}`]]);
    expect(mine[0]!.text).toContain("latency of device:&lt;!channel&gt; &lt;https://evil.example/login|log in again&gt; &amp; co FIRING");
  });
});
