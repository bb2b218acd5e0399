import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { postWebhook } from "../../../../collector/alerts/webhook.ts";
import { app } from "../../../../collector/index.ts";
import { BOOTSTRAP, call, createKey, expectError, publish, unique } from "../../registry-helpers.ts";

const SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX";

/** Every spelling of a host that is not public: each must be refused when configured. */
const REFUSED = [
  "http://127.0.0.1:8080/hook",
  "http://169.254.169.254/latest/meta-data/",
  "http://[::1]/hook",
  "http://10.0.0.1/hook",
  "http://2130706433/hook",
  "http://localhost:3000/hook",
  // other IPv4 spellings the WHATWG parser turns into 127.0.0.1
  "http://0x7f000001/hook",
  "http://0177.0.0.1/hook",
  "http://127.1/hook",
  "http://0x7f.0.0.1/hook",
  // private, CGNAT, unspecified
  "http://172.16.5.4/hook",
  "http://172.31.255.255/hook",
  "http://192.168.1.1/hook",
  "http://100.64.0.1/hook",
  "http://0.0.0.0/hook",
  "http://0/hook",
  // multicast, broadcast, reserved
  "http://224.0.0.1/hook",
  "http://255.255.255.255/hook",
  "http://240.0.0.1/hook",
  // IPv6 link-local, unique-local, unspecified, and IPv4-mapped private addresses
  "http://[fe80::1]/hook",
  "http://[fc00::1]/hook",
  "http://[fd12:3456::1]/hook",
  "http://[::]/hook",
  "http://[::ffff:127.0.0.1]/hook",
  "http://[::ffff:10.0.0.1]/hook",
  "http://[::ffff:a9fe:a9fe]/hook",
  // IPv4-compatible IPv6 (::/96, deprecated by RFC 4291): 127.0.0.1 and 169.254.169.254 inside
  "http://[::127.0.0.1]/hook",
  "http://[::a9fe:a9fe]/hook",
  // localhost names, single-label and private-use domains
  "http://foo.localhost/hook",
  "http://LOCALHOST./hook",
  "http://intranet/hook",
  "http://printer.local/hook",
  "http://metadata.google.internal/computeMetadata/v1/",
  // credentials in the URL
  "https://user:secret@hooks.example.com/hook",
  "https://token@hooks.example.com/hook",
  // not http(s)
  "ftp://hooks.example.com/hook",
  "file:///etc/passwd",
];

async function putWebhook(model: string, webhook: string, token = BOOTSTRAP): Promise<Response> {
  return call("PUT", `/v1/models/${model}/alerts`, { token, json: { webhook, errorRate: 0.5 } });
}

/** One firing alert to post. */
const ALERT = {
  id: 1,
  app: "default",
  model: "m",
  version: 1,
  kind: "error_rate",
  subject: "",
  state: "firing" as const,
  value: 0.5,
  threshold: 0.2,
  windowFrom: 0,
  windowTo: 60_000,
  message: "m v1 firing",
  at: 0,
  deliveredAt: null,
  attempts: 0,
  lastError: null,
  claimedAt: null,
  retryAt: null,
};

describe("alert webhooks", () => {
  it("refuses loopback, link-local, private, unique-local, localhost, numeric IP forms and credentials with 400", async () => {
    const model = unique("hooks");
    await publish(model);
    const refused: string[] = [];
    for (const url of REFUSED) {
      const res = await putWebhook(model, url);
      if (res.status !== 400) refused.push(`${url} → ${res.status}`);
      else {
        const message = await expectError(res, 400, "validation");
        expect(message, url).toMatch(/^webhook: /);
      }
    }
    expect(refused, "accepted although not public").toEqual([]);
    const shown = await call("GET", `/v1/models/${model}/alerts`, { token: BOOTSTRAP });
    expect(await shown.json()).toEqual({ model, webhook: null });
  });

  it("says why: the range of an IP host, and credentials; a host that is not public, how a local receiver is allowed", async () => {
    const model = unique("hooks");
    await publish(model);
    const local = ' (a receiver on your own machine: WEBHOOK_ALLOW_PRIVATE=true in the .dev.vars of a local collector, never a deployed one; docs/security.md "Webhooks")';
    expect(await expectError(await putWebhook(model, "http://2130706433/x"), 400, "validation")).toBe(`webhook: its host 127.0.0.1 is a loopback address, not a public one${local}`);
    expect(await expectError(await putWebhook(model, "http://169.254.169.254/"), 400, "validation")).toBe(`webhook: its host 169.254.169.254 is a linkLocal address, not a public one${local}`);
    expect(await expectError(await putWebhook(model, "http://localhost:8912/hook"), 400, "validation")).toBe(`webhook: its host "localhost" is not a public domain name (no dot)${local}`);
    const credentials = await expectError(await putWebhook(model, "https://u:p@hooks.example.com/"), 400, "validation");
    expect(credentials).toMatch(/credentials/);
    expect(credentials).not.toMatch(/WEBHOOK_ALLOW_PRIVATE/);
  });

  it("accepts public http(s) URLs", async () => {
    const model = unique("hooks");
    await publish(model);
    for (const url of [SLACK, "http://hooks.example.com:8080/x?token=1", "https://93.184.215.14/hook", "https://[2606:4700::6810:84e5]/hook"]) {
      const res = await putWebhook(model, url);
      expect(res.status, `${url}: ${await res.clone().text()}`).toBe(200);
    }
  });

  it("shows read keys the webhook with path and query masked, admins the whole URL", async () => {
    const model = unique("hooks");
    await publish(model);
    expect((await putWebhook(model, SLACK)).status).toBe(200);
    const { token: read } = await createKey("default", "read");
    const { token: admin } = await createKey("default", "admin");
    const asRead = await call("GET", `/v1/models/${model}/alerts`, { token: read });
    expect(await asRead.json()).toMatchObject({ model, webhook: "https://hooks.slack.com/…", errorRate: 0.5 });
    const asAdmin = await call("GET", `/v1/models/${model}/alerts`, { token: admin });
    expect(await asAdmin.json()).toMatchObject({ model, webhook: SLACK });
  });

  it('accepts private hosts only where WEBHOOK_ALLOW_PRIVATE is "true" (local development), never credentials', async () => {
    const model = unique("hooks");
    await publish(model);
    const devEnv = { ...env, WEBHOOK_ALLOW_PRIVATE: "true" };
    const put = (webhook: string) =>
      app.fetch(
        new Request(`http://collector/v1/models/${model}/alerts`, {
          method: "PUT",
          headers: { Authorization: `Bearer ${BOOTSTRAP}`, "Content-Type": "application/json" },
          body: JSON.stringify({ webhook }),
        }),
        devEnv,
      );
    expect((await put("http://localhost:9000/hook")).status).toBe(200);
    expect((await put("http://127.0.0.1:9000/hook")).status).toBe(200);
    expect((await put("http://u:p@localhost:9000/hook")).status).toBe(400);
    expect(env.WEBHOOK_ALLOW_PRIVATE).toBe("false");
  });

  describe("delivery", () => {
    const seen: { url: string; redirect: RequestInit["redirect"] }[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      seen.push({ url: String(input), redirect: init?.redirect });
      return new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } });
    });
    afterAll(() => spy.mockRestore());

    it("re-checks the stored URL and sends nothing to a private host", async () => {
      seen.length = 0;
      expect(await postWebhook("http://10.0.0.1/hook", [ALERT], false)).toBe("not sent: its host 10.0.0.1 is a private address, not a public one");
      expect(seen).toEqual([]);
    });

    it("does not follow a redirect (a public host cannot bounce the POST to a private one)", async () => {
      seen.length = 0;
      expect(await postWebhook(SLACK, [ALERT], false)).toBe("HTTP 302: redirects are not followed");
      expect(seen).toEqual([{ url: SLACK, redirect: "manual" }]);
    });
  });

  it("says which host it could not reach when the request fails", async () => {
    const error = await postWebhook("http://127.0.0.1:1/hook", [ALERT], true);
    expect(error).toMatch(/^could not reach 127\.0\.0\.1:1: ./);
  });
});
