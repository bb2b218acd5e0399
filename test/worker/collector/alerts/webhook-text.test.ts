// The Slack text of an alert carries what clients named: a device class is a segment value, and an
// ingest key is public (a made-up backend counts as `other`: collector/aggregates/known-keys.ts). Slack reads `<…>` in that text as links and
// mentions (`<!channel>` notifies everyone in the channel), so the text escapes `&`, `<` and `>`
// as Slack asks, and the alert's own fields stay as the clients sent them.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import worker from "../../../../collector/index.ts";
import type { Report } from "../../../../protocol/schema/report.ts";
import { flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, publish, rollout, unique } from "../../registry-helpers.ts";

const SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX";
/** A device class as a hostile page names it: a mention and a link. */
const DEVICE = "<!channel> <https://evil.example/login|log in again> & co";

/** Twenty rows a report: tenure 0..19. */
const ROWS = { tenure: Array.from({ length: 20 }, (_, i) => i) };

describe("the Slack text of an alert", () => {
  const posted: { text: string; alerts: { subject: string }[] }[] = [];
  const original = globalThis.fetch;
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    if (!String(input).startsWith(SLACK)) return original(input, init);
    posted.push(JSON.parse(String(init?.body)));
    return new Response("ok");
  });
  afterAll(() => spy.mockRestore());

  /**
   * The posts of one cron run over a new model with a p95 latency objective of 50 ms, after the
   * reports `clients` makes of its minute (each client one sender).
   */
  async function postsOfOneRun(name: string, clients: (model: string, version: number, start: number) => Report[]) {
    const model = unique(name);
    const { version } = await publish(model);
    await rollout(model, { stable: version });
    const put = await call("PUT", `/v1/models/${model}/alerts`, { token: BOOTSTRAP, json: { webhook: SLACK, latencyP95Ms: 50, windowMinutes: 2, minRows: 10 } });
    expect(put.status, await put.clone().text()).toBe(200);
    const { token } = await createKey("default", "ingest");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000 + 60_000;
    await postReports(token, clients(model, version, start));
    await flush(model);
    const before = posted.length;
    await worker.scheduled(createScheduledController({ scheduledTime: start + 2 * 60_000 + 25_000, cron: "* * * * *" }), env);
    return posted.slice(before);
  }

  /** `n` clients' reports of slow calls (300 ms) in device class `device`. */
  const slowIn = (device: string, n: number) => (model: string, version: number, start: number) =>
    Array.from({ length: n }, (_, i) => makeReport(model, version, { client: `slow-${i}`, start, ...ROWS, segment: { device }, latencyMs: [300] }));

  it("escapes the names clients reported, so they make no mention or link", async () => {
    // ten clients (ten senders): slow calls in the hostile device class
    const posts = await postsOfOneRun("hook-text", slowIn(DEVICE, 10));
    // one post: both subjects' p95 latency fired in the same run
    expect(posts.map((p) => p.alerts.map((a) => a.subject).sort())).toEqual([["backend:wasm", `device:${DEVICE}`]]);
    expect(posts[0]!.text).not.toMatch(/[<>]/);
    expect(posts[0]!.text).toContain("latency p95 FIRING for 2 subjects");
    expect(posts[0]!.text).toContain("device:&lt;!channel&gt; &lt;https://evil.example/login|log in again&gt; &amp; co");
  });

  it("keeps a reported name's line breaks out of the text, so it cannot make a line of its own", async () => {
    // a device class that would read in Slack as a second post: all clear
    const device = "x\n:white_check_mark: [driftline] all resolved\r\n\u2028";
    const posts = await postsOfOneRun("hook-lines", slowIn(device, 10));
    expect(posts.map((p) => p.alerts.map((a) => a.subject).sort())).toEqual([["backend:wasm", `device:${device}`]]);
    expect(posts[0]!.text).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(posts[0]!.text).toContain("device:x :white_check_mark: [driftline] all resolved");
  });

  it("escapes an alert posted alone as well", async () => {
    // slow calls in the hostile device class only: the backend's p95 stays within the objective
    const posts = await postsOfOneRun("hook-alone", (model, version, start) => [
      ...slowIn(DEVICE, 3)(model, version, start),
      ...Array.from({ length: 97 }, (_, i) => makeReport(model, version, { client: `fast-${i}`, start, ...ROWS, latencyMs: [1] })),
    ]);
    expect(posts.map((p) => p.alerts.map((a) => a.subject))).toEqual([[`device:${DEVICE}`]]);
    expect(posts[0]!.text).toContain("latency of device:&lt;!channel&gt; &lt;https://evil.example/login|log in again&gt; &amp; co FIRING");
  });
});
