import { defineConfig } from "vitest/config";

/**
 * Four suites, each where its code really runs:
 * - unit: plain Node (protocol, drift maths, CLI parsing, layout rule)
 * - worker: inside workerd with real D1 and R2 (@cloudflare/vitest-pool-workers)
 * - browser: Node drives Debian's headless Chromium with playwright-core
 * - e2e: real processes (the CLI, the simulator) against a local collector (wrangler dev)
 */
export default defineConfig({
  test: {
    projects: ["test/unit/vitest.config.ts", "test/worker/vitest.config.ts", "test/browser/vitest.config.ts", "test/e2e/vitest.config.ts"],
  },
});
