// Issue 13 item 6: signed models. A runtime that trusts a publisher's key runs only versions whose
// manifest that key signed: an unsigned version, one signed by another key, and a signed one whose
// manifest was then changed in the collector's D1 never run — the version serving keeps serving,
// with an `integrity` error event and error count — and a properly signed version does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import { runWrangler } from "../../scripts/lib/collector-process.mjs";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";
import { signManifest, toBase64Url } from "../../protocol/signature.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { decodeErrorCounts, fromBase64 } from "../../protocol/sketch/index.ts";

async function publisherKey() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))) };
}

describe("runtime: only versions a trusted key signed run", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-signing-"));
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let page: Page;
  let trusted: Awaited<ReturnType<typeof publisherKey>>;
  const sent: Report[] = [];

  /**
   * Publishes churn model `seed` as the next version, signed by `key` (or not), and makes it
   * stable; returns how many errors the page had seen before (the page may refuse the version
   * before `rollout` returns: the push channel is that quick).
   */
  async function release(seed: number, key: Awaited<ReturnType<typeof publisherKey>> | undefined, tamper?: (version: number) => Promise<void>) {
    const seen = page ? await page.evaluate(() => (window.keep.errors as string[]).length) : 0;
    const { bytes, manifest } = churnModel("signed", seed);
    if (key) manifest.signature = await signManifest(manifest, key.privateKey, key.publicKey);
    const version = await collector.publish(bytes, manifest);
    await tamper?.(version);
    await collector.rollout("signed", { stable: version });
    return seen;
  }

  /** Predicts until the runtime serves the awaited version or reports an error after the first `seen`; returns what it serves and those errors. */
  async function afterRelease(seen: number): Promise<{ version: string; errors: string[] }> {
    return page.evaluate(
      async ({ row, seen }) => {
        const errors = window.keep.errors as string[];
        const until = Date.now() + 8_000;
        while (Date.now() < until && errors.length === seen && window.rt.version !== window.keep.awaited) {
          await window.rt.predict(row as never);
          await new Promise((r) => setTimeout(r, 50));
        }
        return { version: window.rt.version, errors: errors.slice(seen) };
      },
      { row: churnRows(1)[0], seen },
    );
  }

  beforeAll(async () => {
    rig = await startRuntimeRig({ persistTo: join(dir, "state") });
    collector = rig.collector;
    trusted = await publisherKey();
    await release(0, trusted);
    page = await rig.browser.context.newPage();
    page.on("request", (req) => {
      if (req.url().includes("/v1/reports") && req.method() === "POST") sent.push(...(JSON.parse(req.postData() ?? "{}") as { reports: Report[] }).reports);
    });
    await openRuntimePage(page, rig.server);
    const options = { collector: collector.url, key: await collector.ingestKey(), model: "signed", ortUrl: `${rig.server.url}/ort/`, reportIntervalMs: 250, trust: [trusted.publicKey] };
    await page.evaluate(async (o) => {
      window.rt = await window.Driftline.createRuntime(o as never);
      window.keep = { errors: [] as string[], awaited: "" };
      window.rt.on("error", (e) => (window.keep.errors as string[]).push(`${(e as { code: string }).code}: ${(e as Error).message}`));
    }, options);
    expect(await page.evaluate(() => window.rt.version)).toBe("1");
  });

  afterAll(async () => {
    await rig?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("never runs an unsigned version", async () => {
    const after = await afterRelease(await release(1, undefined));
    expect(after.version).toBe("1");
    expect(after.errors).toEqual([expect.stringMatching(/^integrity: version 2: the manifest is not signed/)]);
  });

  it("never runs a version signed by a key it does not trust", async () => {
    const after = await afterRelease(await release(2, await publisherKey()));
    expect(after.version).toBe("1");
    expect(after.errors).toEqual([expect.stringMatching(/^integrity: version 3: signed by a key not trusted/)]);
  });

  it("never runs a signed version whose manifest was changed in the collector's database", async () => {
    const seen = await release(3, trusted, async (version) => {
      // widen a feature's range behind the publisher's back, directly in D1
      const sql = `UPDATE versions SET manifest = replace(manifest, '"max":100', '"max":1000') WHERE number = ${version} AND model LIKE '%signed'`;
      await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", join(dir, "state"), "--command", sql]);
    });
    const after = await afterRelease(seen);
    expect(after.version).toBe("1");
    expect(after.errors).toEqual([expect.stringMatching(/^integrity: version 4: the signature does not match the manifest/)]);
  });

  it("runs a version the trusted key signed, and reports the integrity errors it counted", async () => {
    await page.evaluate(() => (window.keep.awaited = "5"));
    const after = await afterRelease(await release(4, trusted));
    expect(after).toEqual({ version: "5", errors: [] });
    await page.evaluate(() => window.rt.flush());
    const integrity = sent.reduce((n, r) => n + (r.errors ? (decodeErrorCounts(fromBase64(r.errors)).counts.get("integrity") ?? 0) : 0), 0);
    expect(integrity).toBe(3);
  });
});
