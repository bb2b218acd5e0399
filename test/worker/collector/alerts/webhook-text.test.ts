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
  const posted: { text: string; alert: { subject: string } }[] = [];
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
    expect(posted.map((p) => p.alert.subject).sort()).toEqual(["backend:wasm", `device:${DEVICE}`]);
    for (const { text } of posted) expect(text).not.toMatch(/[<>]/);
    expect(posted.find((p) => p.alert.subject.startsWith("device:"))?.text).toContain("latency of device:&lt;!channel&gt; &lt;https://evil.example/login|log in again&gt; &amp; co FIRING");
  });
});
