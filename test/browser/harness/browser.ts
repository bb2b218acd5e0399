// Launches Debian's headless Chromium through playwright-core, offline but for 127.0.0.1.
import { chromium, type BrowserContext } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_PATH } from "../../../scripts/lib/chromium.mjs";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];

/** A persistent browser profile (so IndexedDB survives reloads) and how to dispose of it. */
export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser and deletes its profile directory. */
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh profile directory.
 * @param options.webgpu also pass `--enable-unsafe-webgpu` (SwiftShader's software adapter)
 */
export async function launchBrowser(options: { webgpu?: boolean } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "driftline-chromium-"));
  const args = options.webgpu
    ? [...ARGS.filter((a) => a !== "--disable-gpu"), "--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader"]
    : ARGS;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
