import { defineProject } from "vitest/config";

/**
 * Browser tests: Node-side vitest files that drive Debian's headless Chromium with playwright-core
 * against pages served on 127.0.0.1 (see test/browser/harness/).
 */
export default defineProject({
  test: {
    name: "browser",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/browser/harness/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // what a poll waits for (a request made, an answer recorded) may take seconds on 2 loaded cores, not 1 s
    expect: { poll: { timeout: 10_000 } },
  },
});
