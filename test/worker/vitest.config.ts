import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

const root = new URL("../..", import.meta.url).pathname;

/** Worker tests run inside workerd with the real D1 and R2 bindings of wrangler.toml, migrations applied. */
export default defineProject(async () => {
  const migrations = await readD1Migrations(`${root}collector/db/migrations`);
  return {
    plugins: [
      cloudflareTest({
        main: `${root}collector/index.ts`,
        wrangler: { configPath: `${root}wrangler.toml` },
        miniflare: {
          // three aggregator shards, so worker tests merge across shards as production does, and a
          // small segment cap and rollout-channel bounds, so tests reach them
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
            INGEST_SHARDS: "3",
            SEGMENT_MAX_VALUES: "3",
            PUSH_MAX_PER_KEY: "4",
            PUSH_MAX_PER_NETWORK: "2",
            DEDUPE_MAX_IDS: "10000",
            SENDER_BUDGET_MAX_ROWS: "10000",
          },
          // rate limits small enough for a test to reach (wrangler.toml's are 300 per address and
          // 20,000 per ingest key per 10 s), in 60-s windows so a burst fits in one on a busy
          // machine; requests without CF-Connecting-IP skip the address limit
          ratelimits: {
            CLIENT_IP_RATE_LIMIT: { simple: { limit: 20, period: 60 } },
            INGEST_KEY_RATE_LIMIT: { simple: { limit: 250, period: 60 } },
          },
        },
      }),
    ],
    test: {
      name: "worker",
      root,
      include: ["test/worker/**/*.test.ts"],
      setupFiles: ["test/worker/apply-migrations.ts"],
      testTimeout: 60_000,
    },
  };
});
