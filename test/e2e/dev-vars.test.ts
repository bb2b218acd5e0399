// `npm start` reads settings from .dev.vars (docs/security.md "Webhooks": WEBHOOK_ALLOW_PRIVATE
// for a receiver on the developer's own machine): wrangler dev alone drops them, as wrangler.toml
// declares [secrets], so startCollector passes them on.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCollector, writeAdminToken } from "../../scripts/lib/collector-process.mjs";
import { runCliProcess } from "./cli-process.ts";

const ADMIN = "adm_dev_vars_e2e";

describe("a local collector started with a .dev.vars", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-dev-vars-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;

  const cli = (...args: string[]) => runCliProcess(args, { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: ADMIN, DRIFTLINE_APP: "demo" });

  beforeAll(async () => {
    const devVars = join(dir, ".dev.vars");
    writeFileSync(devVars, 'ADMIN_TOKEN=adm_not_this_one\nWEBHOOK_ALLOW_PRIVATE="true"\n');
    collector = await startCollector({ adminKey: ADMIN, persistTo: join(dir, "state"), devVars });
    const profile = join(dir, "v1.json");
    const model = "test/fixtures/cancer/model/cancer-v1.onnx";
    const profiled = await cli("profile", "test/fixtures/cancer/data/train.csv", "--exclude", "diagnosis", "--model", model, "--labels", "malignant,benign", "-o", profile);
    expect(profiled.code, profiled.stderr).toBe(0);
    const published = await cli("publish", model, "--model", "cancer", "--profile", profile);
    expect(published.code, published.stderr).toBe(0);
  });

  afterAll(async () => {
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes WEBHOOK_ALLOW_PRIVATE from it: a webhook on 127.0.0.1 is accepted", async () => {
    const set = await cli("alerts", "cancer", "--webhook", "http://127.0.0.1:9/hook");
    expect([set.code, set.stderr]).toEqual([0, ""]);
    expect(set.stdout).toMatch(/http:\/\/127\.0\.0\.1:9\/hook/);
  });

  it("keeps the admin key it was given, not the file's ADMIN_TOKEN", async () => {
    const other = await runCliProcess(["status"], { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: "adm_not_this_one" });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/401/);
  });
});

describe("npm start's admin key in .dev.vars", () => {
  it("is set without touching the file's other lines: settings, their quotes and comments", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftline-dev-vars-"));
    const devVars = join(dir, ".dev.vars");
    try {
      writeFileSync(devVars, '# a receiver on this machine (docs/security.md)\nWEBHOOK_ALLOW_PRIVATE="true"\nADMIN_TOKEN=adm_old\n\nSENTRY_DSN="https://k@o.example/1"\n');
      writeAdminToken(devVars, "adm_new");
      expect(readFileSync(devVars, "utf8")).toBe('ADMIN_TOKEN=adm_new\n# a receiver on this machine (docs/security.md)\nWEBHOOK_ALLOW_PRIVATE="true"\n\nSENTRY_DSN="https://k@o.example/1"\n');
      rmSync(devVars);
      writeAdminToken(devVars, "adm_first");
      expect(readFileSync(devVars, "utf8")).toBe("ADMIN_TOKEN=adm_first\n");
      expect(statSync(devVars).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
