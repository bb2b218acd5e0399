// Test-only typing: the migrations binding added in test/worker/vitest.config.ts, and the collector
// as the main module so `exports.default.fetch` is typed.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
  interface GlobalProps {
    mainModule: typeof import("../../collector/index.ts");
  }
}
