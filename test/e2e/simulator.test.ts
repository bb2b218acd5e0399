// The fleet simulator npm start runs: real runtimes in Node reporting to a real collector. Every
// prediction is counted exactly once, and the drifted app version shows up as drift in its segment.
// Twelve clients as npm start runs, four of them on the drifted version: verdicts trim the
// heaviest sender's share (docs/security.md), so a segment of two clients would be half trimmed.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForNode } from "../../scripts/lib/bundle-node.mjs";
import { startCollector } from "../../scripts/lib/collector-process.mjs";
import { DEMO, bootstrapDemo } from "../../scripts/lib/demo.mjs";

const root = new URL("../..", import.meta.url).pathname;
const ADMIN = "adm_simulator_test";

interface DriftAnswer {
  count: number;
  features: Record<string, { test: string; drifted: boolean }>;
  dataset: { drifted_share: number };
}

describe("the fleet simulator against a local collector", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-sim-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let keys: { ingestKey: string; readKey: string };
  let predicted = 0;

  async function drift(segment: string): Promise<DriftAnswer> {
    const res = await fetch(`${collector.url}/v1/drift?model=${DEMO.model}&segment=${segment}`, { headers: { authorization: `Bearer ${keys.readKey}` } });
    return (await res.json()) as DriftAnswer;
  }

  beforeAll(async () => {
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    keys = await bootstrapDemo({ url: collector.url, adminKey: ADMIN }, () => {});
    const sim = spawn(process.execPath, [await bundleForNode("demo/simulator.ts"), "--url", collector.url, "--key", keys.ingestKey, "--clients", "12", "--rate", "10", "--report-seconds", "2"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    sim.stdout.on("data", (d) => (output += d));
    sim.stderr.on("data", (d) => (output += d));
    await new Promise((r) => setTimeout(r, 20_000));
    sim.kill("SIGTERM");
    const code = await new Promise((resolve) => sim.once("exit", resolve));
    expect(code, output).toBe(0);
    predicted = Number(/stopped after (\d+) predictions/.exec(output)?.[1]);
    const flushed = await fetch(`${collector.url}/v1/reports/flush?model=${DEMO.model}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
    expect(flushed.status).toBe(200);
  });

  afterAll(async () => {
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("counts every prediction exactly once", async () => {
    expect(predicted).toBeGreaterThan(500);
    expect((await drift("")).count).toBe(predicted);
  });

  it("shows the app version 4.3 bug as drift on its features, within seconds", async () => {
    const buggy = await drift("appVersion:4.3");
    expect(buggy.count).toBeGreaterThan(100);
    for (const feature of ["mean_radius", "mean_texture", "worst_texture"]) {
      expect(buggy.features[feature], feature).toMatchObject({ test: "ks", drifted: true });
    }
    const healthy = await drift("appVersion:4.2");
    expect(healthy.features.mean_radius!.drifted).toBe(false);
    expect(healthy.dataset.drifted_share).toBeLessThan(buggy.dataset.drifted_share);
  });
});
