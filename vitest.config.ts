import { availableParallelism } from "node:os";
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
    // vitest's default (cores - 1) runs one file at a time on 2 cores; most files wait on processes
    // they started (workerd, Chromium), so two at a time took the suite there from 15.7 to 9.8 min.
    // Every file starts its own collector, browser and servers on free ports, so any two may overlap.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: ["test/unit/vitest.config.ts", "test/worker/vitest.config.ts", "test/browser/vitest.config.ts", "test/e2e/vitest.config.ts"],
  },
});
