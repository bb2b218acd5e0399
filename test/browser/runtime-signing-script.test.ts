// Issue 13 item 6: the trust list of a page that embeds the runtime with one <script> tag, given in
// the tag's `data-trust` attribute (the build of `npm run build`, served by the collector's /sdk/
// and pinned by the tag's `integrity`). Only versions a key in it signed run; a createRuntime call's
// own `trust` replaces the tag's.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import { launchBrowser, type TestBrowser } from "./harness/browser.ts";
import { startTestCollector, type TestCollector } from "./harness/collector.ts";
import { startStaticServer, type StaticServer } from "./harness/static-server.ts";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";
import { signManifest, toBase64Url } from "../../protocol/signature.ts";

const root = new URL("../..", import.meta.url).pathname;

async function publisherKey() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))) };
}

describe("runtime: the <script> tag's data-trust keys", () => {
  let collector: TestCollector;
  let app: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let key: string;
  let integrity: string;
  let trusted: Awaited<ReturnType<typeof publisherKey>>;
  let stranger: Awaited<ReturnType<typeof publisherKey>>;

  /** Opens an app page whose tag says `dataTrust`; createRuntime with `trust` when given: the version it serves, or its error. */
  async function start(dataTrust: string, trust?: string[]): Promise<string> {
    const options = { collector: collector.url, key, model: "tagged", ...(trust && { trust }) };
    app.set(
      "/index.html",
      `<!doctype html>
<script src="${collector.url}/sdk/driftline.iife.js" integrity="${integrity}" crossorigin="anonymous" data-trust="${dataTrust}"></script>
<script>
  Driftline.createRuntime(${JSON.stringify(options)}).then(async (rt) => {
    await rt.predict(${JSON.stringify(churnRows(1)[0])});
    window.outcome = "version " + rt.version;
    await rt.close();
  }, (err) => { window.outcome = err.code + ": " + err.message; });
</script>`,
    );
    await page.goto(`${app.url}/index.html`);
    await page.waitForFunction(() => "outcome" in window, undefined, { timeout: 60_000 });
    return page.evaluate(() => (window as unknown as { outcome: string }).outcome);
  }

  beforeAll(async () => {
    integrity = `sha384-${createHash("sha384")
      .update(readFileSync(`${root}dist/site/sdk/driftline.iife.js`))
      .digest("base64")}`;
    [collector, app, browser] = await Promise.all([startTestCollector(), startStaticServer({}), launchBrowser()]);
    [trusted, stranger] = await Promise.all([publisherKey(), publisherKey()]);
    const { bytes, manifest } = churnModel("tagged");
    manifest.signature = await signManifest(manifest, trusted.privateKey, trusted.publicKey);
    await collector.publish(bytes, manifest);
    key = await collector.ingestKey();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await collector?.stop();
  });

  it("runs a version signed by a key in data-trust (among others)", async () => {
    expect(await start(`${stranger.publicKey} ${trusted.publicKey}`)).toBe("version 1");
  });

  it("never runs a version no key in data-trust signed", async () => {
    expect(await start(stranger.publicKey)).toMatch(/^integrity: version 1: signed by a key not trusted/);
  });

  it("trusts no key when data-trust is empty", async () => {
    expect(await start("")).toMatch(/^integrity: version 1: signed by a key not trusted/);
  });

  it("takes a createRuntime call's own trust over the tag's", async () => {
    expect(await start(stranger.publicKey, [trusted.publicKey])).toBe("version 1");
  });
});
