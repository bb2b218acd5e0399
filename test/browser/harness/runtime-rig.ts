// What every runtime browser test starts: a local collector, the runtime page server and Chromium.
import { launchBrowser, type TestBrowser } from "./browser.ts";
import { startTestCollector, type TestCollector } from "./collector.ts";
import { startRuntimeServer } from "./runtime-page.ts";
import type { StaticServer } from "./static-server.ts";

/** The three processes a runtime test drives, and how to stop them all. */
export interface RuntimeRig {
  collector: TestCollector;
  server: StaticServer;
  browser: TestBrowser;
  stop(): Promise<void>;
}

/**
 * Starts them side by side; when one fails to start, the others are stopped before rejecting.
 *
 * @param options.webgpu - Chromium with a (software) WebGPU adapter
 * @param options.persistTo - the collector's state directory (kept on stop; a temp one by default)
 * @param options.vars - the collector's `[vars]` to override
 */
export async function startRuntimeRig(options: { webgpu?: boolean; persistTo?: string; vars?: Record<string, string> } = {}): Promise<RuntimeRig> {
  const started = await Promise.allSettled([startTestCollector(options.persistTo, options.vars), startRuntimeServer(), launchBrowser(options)] as const);
  const stop = async () => {
    const [collector, server, browser] = started;
    if (browser.status === "fulfilled") await browser.value.close();
    if (server.status === "fulfilled") await server.value.stop();
    if (collector.status === "fulfilled") await collector.value.stop();
  };
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [collector, server, browser] = started as unknown as [PromiseFulfilledResult<TestCollector>, PromiseFulfilledResult<StaticServer>, PromiseFulfilledResult<TestBrowser>];
  return { collector: collector.value, server: server.value, browser: browser.value, stop };
}
