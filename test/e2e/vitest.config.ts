import { defineProject } from "vitest/config";

/**
 * End-to-end tests in Node: real processes (the `driftline` CLI, the fleet simulator) against a
 * real local collector (`wrangler dev` with local D1 and R2), started and stopped by each file.
 */
export default defineProject({
  test: {
    name: "e2e",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
