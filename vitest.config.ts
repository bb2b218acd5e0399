import { defineConfig } from "vitest/config";

/**
 * Three suites, each where its code really runs:
 * - unit: plain Node (protocol, drift maths, CLI parsing, layout rule)
 * - worker: inside workerd with real D1 and R2 (@cloudflare/vitest-pool-workers)
 * - browser: Node drives Debian's headless Chromium with playwright-core
 */
export default defineConfig({
  test: {
    projects: ["test/unit/vitest.config.ts", "test/worker/vitest.config.ts", "test/browser/vitest.config.ts"],
  },
});
