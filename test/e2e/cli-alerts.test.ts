// `driftline slo` and `driftline alerts`, the real CLI against a real local collector: objectives
// set from the command line and shown against what the collector measured from a report, and
// every alert condition shown, changed and cleared.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { latencyReport } from "../fixtures/latency-report.ts";
import { runCliProcess } from "./cli-process.ts";

const ADMIN = "adm_cli_alerts_e2e";

describe("driftline slo and alerts against a local collector", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-cli-alerts-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;

  const cli = (...args: string[]) => runCliProcess(args, { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: ADMIN, DRIFTLINE_APP: "demo" });

  beforeAll(async () => {
    collector = await startCollector({ adminKey: ADMIN, persistTo: join(dir, "state") });
    const profiled = await cli(
      "profile",
      "test/fixtures/cancer/data/train.csv",
      "--exclude",
      "diagnosis",
      "--model",
      "test/fixtures/cancer/model/cancer-v1.onnx",
      "--labels",
      "malignant,benign",
      "-o",
      join(dir, "v1.json"),
    );
    expect(profiled.code, profiled.stderr).toBe(0);
    const published = await cli("publish", "test/fixtures/cancer/model/cancer-v1.onnx", "--model", "cancer", "--app", "demo", "--profile", join(dir, "v1.json"));
    expect(published.code, published.stderr).toBe(0);
    // one client's report of the last minutes: 100 wasm calls, 10 of them 40 ms, and one error
    const created = await cli("keys", "create", "--app", "demo", "--role", "ingest");
    expect(created.code, created.stderr).toBe(0);
    const ingest = created.stdout.trim();
    const report = latencyReport(
      { id: "slo-e2e-1", model: "cancer", version: 1 },
      [
        [10, 40],
        [90, 5],
      ],
      { session: 1 },
    );
    const posted = await fetch(`${collector.url}/v1/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${ingest}`, "content-type": "application/json" },
      body: JSON.stringify({ reports: [report] }),
    });
    const answer = (await posted.json()) as { accepted: string[]; rejected: unknown[] };
    expect(answer.rejected).toEqual([]);
    expect(answer.accepted).toEqual(["slo-e2e-1"]);
    const flushed = await fetch(`${collector.url}/v1/reports/flush?model=cancer&app=demo`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
    expect(flushed.status).toBe(200);
  });

  afterAll(async () => {
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sets objectives and shows each against its measured value and the error budget left", async () => {
    expect((await cli("slo", "cancer")).stdout).toMatch(/no objectives yet: driftline slo cancer --p95 20ms/);
    const set = await cli("slo", "cancer", "--p95", "20ms", "--error-rate", "0.02", "--client-rps", "50");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^cancer v1: measured .* error budget over 30 days$/m);
    expect(set.stdout).toMatch(/^objective +of +target +measured +verdict +budget left$/m);
    // 10 % of calls over 20 ms against an allowed 5 %: twice the budget spent, all by the one
    // client that reported, whom the alerts leave out: no alert fires for it
    expect(set.stdout).toMatch(/^p95 latency +backend:wasm +≤ 20 ms +40 ms +BREACHED, no alert\* +-100 %$/m);
    expect(set.stdout).toContain("* met, or without data, once the heaviest sender's calls are left out, as the alerts judge");
    // 1 error in 101 against 2 %: half the budget left
    expect(set.stdout).toMatch(/^error rate +all +< 2 % +0\.99 % +met +50 %$/m);
    // one row a call, 8.5 ms a call on average
    expect(set.stdout).toMatch(/^client throughput +all +≥ 50\/s +117\.6\/s +met +-$/m);
    const json = JSON.parse((await cli("slo", "cancer", "--clear", "client-rps", "--period", "7d", "--json")).stdout);
    expect(json.slo.period.days).toBe(7);
    expect(json.slo.objectives.map((o: { kind: string }) => o.kind).sort()).toEqual(["error_rate", "latency_p95"]);
  });

  it("shows, changes and clears every alert condition, keeping what it does not touch", async () => {
    const changed = await cli(
      "alerts",
      "cancer",
      "--webhook",
      "https://hooks.example.com/T0/secret",
      "--dataset-drift",
      "0.3",
      "--feature-drift",
      "*",
      "--p99",
      "0.1s",
      "--confirm",
      "3/5",
      "--window",
      "30m",
      "--auto-rollback",
      "off",
      "--accuracy-drop",
      "0.05",
    );
    expect(changed.code, changed.stderr).toBe(0);
    // how conditions are judged is the header, not a condition of the table
    expect(changed.stdout).toMatch(
      /^cancer: judged every minute over the last 30 min once it has 100 rows \(performance once it has 100 labels\); fires after 3 of 5 evaluations; canary auto-rollback off$/m,
    );
    expect(changed.stdout).not.toMatch(/^--min-labelled/m);
    expect(changed.stdout).toMatch(/^--webhook +https:\/\/hooks\.example\.com\/T0\/secret$/m);
    expect(changed.stdout).toMatch(/^--dataset-drift +share of drifted features ≥ 0\.3$/m);
    expect(changed.stdout).toMatch(/^--feature-drift +drift of \*$/m);
    // the objectives `driftline slo` set are still there
    expect(changed.stdout).toMatch(/^--p95 +≤ 20 ms per backend and device class$/m);
    expect(changed.stdout).toMatch(/^--p99 +≤ 100 ms per backend and device class$/m);
    expect(changed.stdout).toMatch(/^--error-rate +below 0\.02$/m);
    expect(changed.stdout).toMatch(/^--period +7 days$/m);

    const cleared = await cli("alerts", "cancer", "--clear", "p95,webhook", "--json");
    const { config } = JSON.parse(cleared.stdout);
    expect(config).toMatchObject({ webhook: null, datasetDrift: 0.3, latencyP99Ms: 100, errorRate: 0.02, confirm: { k: 3, m: 5 }, windowMinutes: 30, autoRollback: false });
    expect(config.latencyP95Ms).toBeUndefined();
    expect((await cli("alerts", "cancer")).stdout).toMatch(/no webhook: alerts are recorded and shown, not posted/);
  });

  it("refuses bad values with one line: a usage mistake exits 2, a refused webhook 1", async () => {
    const fast = await cli("alerts", "cancer", "--p95", "fast");
    expect(fast.code).toBe(2);
    expect(fast.stderr).toMatch(/--p95 must be a duration like 20ms or 1\.5s, got "fast"/);
    expect((await cli("alerts", "cancer", "--confirm", "5/3")).stderr).toMatch(/K must be at most M/);
    expect((await cli("slo", "cancer", "--clear", "webhook")).stderr).toMatch(/--clear: no flag "webhook"/);
    const local = await cli("alerts", "cancer", "--webhook", "http://127.0.0.1:9/hook");
    expect(local.code).toBe(1);
    expect(local.stderr.trim()).toMatch(
      /^driftline alerts: PUT \/v1\/models\/cancer\/alerts failed: 400 validation: webhook: its host 127\.0\.0\.1 is a loopback address, not a public one \(a receiver on your own machine: WEBHOOK_ALLOW_PRIVATE=true in the \.dev\.vars of a local collector, never a deployed one; docs\/security\.md "Webhooks"\)$/,
    );
  });
});
