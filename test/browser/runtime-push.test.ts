// Issue 18: the rollout channel. An idle page (no predictions, so no report answers and no poll
// for 5 minutes) learns of `driftline rollback` over its WebSocket and swaps versions within 2 s;
// after the collector is killed and started again it reconnects (backoff with jitter) and catches a
// change made while it was away (the first message on connect is the current config version);
// while hidden it holds no connection.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page, WebSocket as PageSocket } from "playwright-core";
import "./harness/page-globals.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { churnModel } from "../fixtures/runtime-models.ts";
import { projectRoot } from "../../scripts/lib/root.mjs";

const root = projectRoot(import.meta.url);
const MODEL = "push";
const run = promisify(execFile);

describe("runtime: rollout changes pushed over the rollout channel", () => {
  let rig: RuntimeRig;
  let page: Page;
  /** The page's channel sockets, in the order it opened them. */
  const sockets: PageSocket[] = [];
  /** Requests the page made to the collector's HTTP routes. */
  const requests: string[] = [];

  /** `driftline rollback` (the CLI, as an operator runs it); resolves when it printed its answer. */
  const rollback = async () => {
    const { stdout } = await run(process.execPath, [`${root}cli/bin.js`, "rollback", MODEL], {
      cwd: root,
      env: { ...process.env, DRIFTLINE_URL: rig.collector.url, DRIFTLINE_ADMIN_KEY: rig.collector.adminKey },
    });
    return stdout;
  };
  const version = () => page.evaluate(() => window.rt.version);
  /** Sockets that received a message (the version sent on connect comes first). */
  const heard = new Set<PageSocket>();
  /** Resolves once the page's newest socket received its first message. */
  const connected = () => expect.poll(() => heard.has(sockets.at(-1)!), { timeout: 60_000 }).toBe(true);

  beforeAll(async () => {
    rig = await startRuntimeRig();
    const { collector, server, browser } = rig;
    for (const m of [churnModel(MODEL, 0), churnModel(MODEL, 1)]) await collector.publish(m.bytes, m.manifest);
    page = await browser.context.newPage();
    page.on("websocket", (ws) => {
      sockets.push(ws);
      ws.on("framereceived", () => heard.add(ws));
    });
    page.on("request", (r) => r.url().startsWith(collector.url) && requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await openRuntimePage(page, server);
    const options = { collector: collector.url, key: await collector.ingestKey(), model: MODEL, ortUrl: `${server.url}/ort/` };
    await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o);
      const swaps: Array<[string, string, number]> = [];
      window.keep.swaps = swaps;
      for (const e of ["update", "rollback"] as const) window.rt.on(e, (p) => swaps.push([e, p.to, Date.now()]));
    }, options);
  });

  afterAll(() => rig?.stop());

  it("swaps an idle page to a new stable version and back to the rolled-back one within 2 s of `driftline rollback`", async () => {
    await connected();
    expect(await version()).toBe("1");
    await rig.collector.rollout(MODEL, { stable: 2 });
    await page.waitForFunction(() => window.rt.version === "2", undefined, { timeout: 10_000 });
    requests.length = 0;
    const started = Date.now();
    expect(await rollback()).toMatch(/stable v1/);
    const returned = Date.now();
    // the bound: a page that waited for its poll would take up to 5 minutes
    await page.waitForFunction(() => window.rt.version === "1", undefined, { timeout: 2_000 });
    const [event, to, at] = (await page.evaluate(() => (window.keep.swaps as unknown[]).at(-1))) as [string, string, number];
    expect([event, to]).toEqual(["rollback", "1"]);
    console.log(`push: \`driftline rollback\` ran ${returned - started} ms; the idle page served v1 ${at - started} ms after it started`);
    // it learnt of it from the channel: no report was sent (it is idle), only the assignment and v1's bytes fetched
    expect(requests.filter((r) => !r.startsWith("GET /v1/artifacts/"))).toEqual(["GET /v1/assignment"]);
  });

  it("holds no connection while the page is hidden, and catches up when it is shown", async () => {
    await rig.collector.rollout(MODEL, { stable: 2 });
    await page.waitForFunction(() => window.rt.version === "2", undefined, { timeout: 10_000 });
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    const open = sockets.at(-1)!;
    await setHidden(true);
    await open.waitForEvent("close", { timeout: 10_000 }).catch(() => {});
    expect(open.isClosed()).toBe(true);
    const count = sockets.length;
    expect(await rollback()).toMatch(/stable v1/);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(sockets.length).toBe(count); // quiet while hidden
    expect(await version()).toBe("2");
    await setHidden(false);
    await page.waitForFunction(() => window.rt.version === "1", undefined, { timeout: 10_000 });
  });

  it("reconnects after the collector was killed and started again, and catches a change made before it was back", async () => {
    const before = sockets.at(-1)!;
    // hold the page's reconnects until the change is made, so the change surely falls while it is away
    let hold = true;
    let held = 0;
    await page.routeWebSocket(/\/v1\/rollout-channel/, (ws) => {
      if (!hold) return ws.connectToServer();
      held++;
      return ws.close({ code: 1011, reason: "held by the test" });
    });
    await rig.collector.pause();
    await before.waitForEvent("close", { timeout: 10_000 }).catch(() => {});
    expect(before.isClosed()).toBe(true);
    await rig.collector.resume();
    await rig.collector.rollout(MODEL, { stable: 2 });
    // it kept trying (backoff) while the collector was down and held
    await expect.poll(() => held, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await version()).toBe("1");
    hold = false;
    await page.waitForFunction(() => window.rt.version === "2", undefined, { timeout: 60_000 });
    await page.unrouteAll();
  });
});
