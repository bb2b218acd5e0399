// One sender cannot steer a verdict, live: against a real local collector (wrangler dev) with the
// breast-cancer fixture (30 features), 20 honest clients from 20 addresses send 400
// rows like the reference's; then one address sends as many reports, client ids and values as
// the wire allows, all far off. The window's drift still shows at most 2 of 30 features and the
// guardrail's cron run changes nothing. wrangler dev keeps the CF-Connecting-IP a client sends,
// so each sender names its address (on Cloudflare the edge sets it and it cannot be forged).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScheduled, startCollector } from "../../scripts/lib/collector-process.mjs";
import type { DriftAnswer } from "../../protocol/api.ts";
import type { Manifest } from "../../protocol/schema/index.ts";
import { NumericSketch, toBase64 } from "../../protocol/sketch/index.ts";
import { CANCER, publishCancer } from "../fixtures/cancer/publish.ts";

const root = new URL("../..", import.meta.url).pathname;
const ADMIN = "adm_one_sender_e2e";
const CLIENTS = 20;
const ROWS = 20;

/** The breast-cancer fixture's patients (training and held-out rows alike: all are honest data), feature columns only. */
function patients(): Record<string, number>[] {
  const rows: Record<string, number>[] = [];
  for (const file of ["train.csv", "live.csv"]) {
    const [header = "", ...lines] = readFileSync(join(root, "test/fixtures/cancer/data", file), "utf8")
      .trim()
      .split("\n");
    const names = header.split(",");
    for (const line of lines) rows.push(Object.fromEntries(line.split(",").flatMap((v, i) => (names[i] === "diagnosis" ? [] : [[names[i]!, Number(v)]]))));
  }
  // a fixed shuffle, so every run sends the same rows
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return rows
    .map((row) => ({ row, key: random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ row }) => row);
}

describe("one sender against a local collector", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-one-sender-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let keys: { ingestKey: string; readKey: string };

  async function api(path: string, token: string, init: { method?: string; body?: unknown; ip?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (init.ip) headers["CF-Connecting-IP"] = init.ip;
    const res = await fetch(`${collector.url}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(200);
    return JSON.parse(text);
  }

  beforeAll(async () => {
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    keys = await publishCancer({ url: collector.url, adminKey: ADMIN });
  });

  afterAll(async () => {
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("keeps 400 honest rows from 20 clients judged as they are, and the canary in place", async () => {
    // a canary the guardrail watches: any condition firing would roll it back
    const { versions } = (await api(`/v1/models/${CANCER.model}/versions?app=${CANCER.app}`, keys.readKey)) as { versions: { version: number }[] };
    const [version, canary] = versions.map((v) => v.version).sort((a, b) => a - b) as [number, number];
    const rollout = { stable: version, canary: { version: canary, percent: 50 } };
    await api(`/v1/models/${CANCER.model}/rollout?app=${CANCER.app}`, ADMIN, { method: "PUT", body: rollout });
    const guardrail = { webhook: "https://hooks.example.com/one-sender", datasetDrift: 0.5, featureDrift: ["*"], errorRate: 0.2, windowMinutes: 10, minRows: 10, autoRollback: true };
    await api(`/v1/models/${CANCER.model}/alerts?app=${CANCER.app}`, ADMIN, { method: "PUT", body: guardrail });
    const { manifest } = (await api(`/v1/models/${CANCER.model}/versions/${version}?app=${CANCER.app}`, keys.readKey)) as { manifest: Manifest };
    const features = manifest.features.filter((f) => f.kind === "numeric");
    expect(features).toHaveLength(30);
    const sketchOf = (values: (name: string, i: number) => number, rows: number) =>
      Object.fromEntries(
        features.map((f) => {
          const s = new NumericSketch(f.kind === "numeric" && f.range ? { range: f.range } : {});
          for (let i = 0; i < rows; i++) s.update(values(f.name, i));
          return [f.name, toBase64(s.encode())];
        }),
      );
    const clientsOf = async (v: number, n: number) => {
      const found: string[] = [];
      for (let i = 0; found.length < n; i++) {
        const given = await api(`/v1/assignment?model=${CANCER.model}&client=one-sender-${v}-${i}`, keys.ingestKey);
        if (given.version === v) found.push(`one-sender-${v}-${i}`);
      }
      return found;
    };
    const stableClients = await clientsOf(version, CLIENTS + 10);
    const canaryClients = await clientsOf(canary, 10);
    // a closed minute, so the cron judges it
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 180_000;
    const report = (client: string, n: number, rows: number, features: Record<string, string>, v = version) => ({
      id: `one-sender-${client}-${n}`,
      model: CANCER.model,
      version: v,
      role: "live",
      client,
      start,
      end: start + 10_000,
      segment: {},
      rows,
      sampleRate: 1,
      features,
    });

    // every report is built before the first is sent: a pause of seconds between requests lets
    // the dev server close a kept-alive connection under the client's feet
    const data = patients();
    const honest = Array.from({ length: CLIENTS }, (_, c) => {
      const rows = data.slice(c * ROWS, (c + 1) * ROWS);
      return report(
        stableClients[c]!,
        0,
        ROWS,
        sketchOf((name, i) => rows[i]![name]!, ROWS),
      );
    });
    // one address, twenty client ids, a hundred thousand rows a report, every value ten times
    // the largest the schema allows (or 1e6 without a range)
    const far = sketchOf((name) => {
      const f = features.find((x) => x.name === name)!;
      return f.kind === "numeric" && f.range ? f.range.max * 10 : 1e6;
    }, 100_000);
    const attack = [...stableClients.slice(CLIENTS).map((client, n) => report(client, n, 100_000, far)), ...canaryClients.map((client, n) => report(client, n, 100_000, far, canary))];
    for (const [c, r] of honest.entries()) {
      const answer = await api("/v1/reports", keys.ingestKey, { method: "POST", ip: `198.51.100.${c + 1}`, body: { reports: [r] } });
      expect(answer.accepted).toHaveLength(1);
    }
    for (let i = 0; i < attack.length; i += 5) {
      const answer = await api("/v1/reports", keys.ingestKey, { method: "POST", ip: "203.0.113.66", body: { reports: attack.slice(i, i + 5) } });
      expect(answer.accepted).toHaveLength(5);
    }
    await api(`/v1/reports/flush?model=${CANCER.model}&app=${CANCER.app}`, ADMIN, { method: "POST" });

    const drift = (await api(`/v1/drift?model=${CANCER.model}&app=${CANCER.app}&version=${version}&from=${start - 120_000}&to=${start + 120_000}`, keys.readKey)) as DriftAnswer;
    const drifted = Object.entries(drift.features)
      .filter(([, f]) => f.drifted)
      .map(([name]) => name);
    expect(drifted.length, `drifted: ${drifted.join(", ")}`).toBeLessThanOrEqual(2);
    expect(drift.dataset.drifted).toBe(false);

    // the cron run that judges alerts and the guardrail: nothing fires, the canary stays
    await runScheduled(collector.url);
    expect(await api(`/v1/models/${CANCER.model}/rollout?app=${CANCER.app}`, keys.readKey)).toMatchObject(rollout);
    const { alerts } = (await api(`/v1/alerts?model=${CANCER.model}&app=${CANCER.app}`, keys.readKey)) as { alerts: { kind: string; state: string }[] };
    expect(alerts.filter((a) => a.state === "firing")).toEqual([]);
  });
});
