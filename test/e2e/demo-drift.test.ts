// The demo's story, checked end to end: the fleet simulator (real runtimes in Node) replays the
// FAA wildlife-strike reports 1990–2002 and 1 in 100 of the US flights of January–June 2001 to a
// real local collector, once each and in time order, with the two models npm start publishes.
// Verdicts are the calibrated ones (docs/drift.md "Calibrated verdicts"): the committed profiles
// are calibrated on the reference's own years (strikes) and weeks (flights), and `driftline
// publish` asks for calibrated verdicts; the first test checks the manifests say so.
//
// Time compression: the same as npm start but with the virtual clock at 30× the wall clock
// instead of 15× (a data-year of strikes per virtual minute, a data-month of flights per two),
// so the replay takes about 30 s; each period is judged over its own whole minutes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlights } from "../../demo/data.ts";
import { freePort, startCollector } from "../../scripts/lib/collector-process.mjs";
import { bootstrapDemo } from "../../scripts/lib/demo.mjs";
import { type Fleet, type Period, startFleet } from "./demo-fleet.ts";

const ADMIN = "adm_demo_drift_e2e";
const SAMPLE = 100;
const STRIKES = "birdstrike-damage";
const FLIGHTS = "flight-delay";

interface Drift {
  count: number;
  features: Record<string, { drifted: boolean; value: number; threshold: number }>;
}
interface Stats {
  performance: { labelled: number; accuracy: number } | null;
  estimated: { accuracy: number; band: { accuracy: [number, number] } } | null;
  baseline: { kind: string; accuracy?: number } | null;
}

describe("the demo fleet replaying public data once, in time order", () => {
  const state = mkdtempSync(join(tmpdir(), "driftline-demo-drift-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let keys: { ingestKey: string; readKey: string };
  let fleet: Fleet;
  let periods: Period[];

  async function read<T>(path: string): Promise<T> {
    const res = await fetch(`${collector.url}${path}`, { headers: { authorization: `Bearer ${keys.readKey}` } });
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(200);
    return JSON.parse(text) as T;
  }
  const drift = (p: Period) => read<Drift>(`/v1/drift?model=${p.model}&from=${p.from}&to=${p.to}`);
  const stats = (p: Period) => read<Stats>(`/v1/stats?model=${p.model}&from=${p.from}&to=${p.to}`);
  const of = (model: string) => periods.filter((p) => p.model === model);

  beforeAll(async () => {
    collector = await startCollector({ adminKey: ADMIN, persistTo: state });
    keys = await bootstrapDemo({ url: collector.url, adminKey: ADMIN }, () => {});
    fleet = await startFleet(collector.url, keys.ingestKey, ["--speed", "30", "--report-seconds", "60", "--flights-sample", String(SAMPLE)]);
    expect(await fleet.exited, fleet.output()).toBe(0);
    periods = fleet.periods();
    for (const model of [STRIKES, FLIGHTS]) {
      const flushed = await fetch(`${collector.url}/v1/reports/flush?model=${model}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
      expect(flushed.status).toBe(200);
    }
  });

  afterAll(async () => {
    await fleet?.stop();
    await collector?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("fails at once, in one line, on a refused key or a collector that does not answer", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const cases: Array<[string, string, RegExp]> = [
      [collector.url, "ing_not_a_key", /^simulator: the collector refused the key \(401 .*\): pass the demo's ingest key, which npm start prints$/],
      [collector.url, keys.readKey, /^simulator: the collector refused the key \(403 .*\)/],
      [nobody, keys.ingestKey, new RegExp(`^simulator: the collector at ${nobody} does not answer \\(ECONNREFUSED\\); npm start runs one$`)],
      ["localhost:8787", keys.ingestKey, /^simulator: --url "localhost:8787" is not an http:\/\/ or https:\/\/ URL/],
    ];
    for (const [url, key, said] of cases) {
      const failing = await startFleet(url, key);
      const code = await failing.exited;
      expect(failing.output().trim(), url).toMatch(said);
      expect(code, failing.output()).toBe(url.startsWith("http") ? 1 : 2);
    }
  });

  it("publishes both models with calibrated verdicts", async () => {
    for (const model of [STRIKES, FLIGHTS]) {
      const v1 = await read<{ manifest: { drift?: { verdicts?: string } } }>(`/v1/models/${model}/versions/1`);
      expect(v1.manifest.drift?.verdicts, model).toBe("calibrated");
    }
  });

  it("replays every row exactly once, each in its period's windows: 10,000 strikes and 1 in 100 of the 3,000,000 flights", async () => {
    expect(of(STRIKES).map((p) => p.period)).toEqual(Array.from({ length: 13 }, (_, i) => String(1990 + i)));
    expect(of(FLIGHTS).map((p) => p.period)).toEqual(["2001-01", "2001-02", "2001-03", "2001-04", "2001-05", "2001-06"]);
    for (const [model, rows] of [
      [STRIKES, 10_000],
      [FLIGHTS, 3_000_000 / SAMPLE],
    ] as const) {
      expect(of(model).reduce((n, p) => n + p.rows, 0)).toBe(rows);
      for (const p of of(model)) expect((await drift(p)).count, `${model} ${p.period}`).toBe(p.rows);
    }
  });

  it("flags at most 5 % of feature-windows while reference-period rows are replayed", async () => {
    const reference = [...of(STRIKES).filter((p) => Number(p.period) <= 1993), ...of(FLIGHTS).filter((p) => p.period === "2001-01")];
    let windows = 0;
    const flagged: string[] = [];
    for (const p of reference) {
      const answer = await drift(p);
      expect(answer.count).toBeGreaterThan(400);
      for (const [name, f] of Object.entries(answer.features)) {
        windows++;
        if (f.drifted) flagged.push(`${p.model} ${p.period} ${name}: ${f.value.toFixed(3)} ≥ ${f.threshold.toFixed(3)}`);
      }
    }
    expect(windows).toBe(4 * 9 + 4);
    expect(flagged.length / windows, flagged.join("\n")).toBeLessThanOrEqual(0.05);
  });

  it("flags airport, aircraft and operator in every strike year from 1998, and phase of flight in none", async () => {
    const later = of(STRIKES).filter((p) => Number(p.period) >= 1998);
    expect(later).toHaveLength(5);
    for (const p of later) {
      const { features } = await drift(p);
      for (const name of ["Airport Name", "Aircraft Make Model", "Aircraft Airline Operator"]) expect(features[name]!.drifted, `${p.period} ${name}`).toBe(true);
      expect(features["Phase of flight"]!.drifted, `${p.period} Phase of flight`).toBe(false);
    }
  });

  it("shows flights' realised accuracy per window following the month's share of late flights, which the label-free estimate cannot see", async () => {
    // the truth, from the data itself: the same 1 in 100 flights, late or not, by month
    const flights = await readFlights((i) => i % SAMPLE === 0);
    const accuracies: number[] = [];
    const outsideBand: boolean[] = [];
    for (const p of of(FLIGHTS)) {
      const month = flights.filter((f) => new Date(f.at).toISOString().startsWith(p.period));
      const lateShare = month.filter((f) => f.label === "late").length / month.length;
      const { performance, estimated, baseline } = await stats(p);
      // labels arrive when a flight lands: the month's last flights land in the next window
      expect(performance!.labelled, p.period).toBeGreaterThan(0.97 * month.length);
      // the model rarely predicts "late": it is right about as often as flights are on time
      expect(Math.abs(performance!.accuracy - (1 - lateShare)), `${p.period}: accuracy ${performance!.accuracy}, late ${lateShare}`).toBeLessThan(0.02);
      accuracies.push(performance!.accuracy);

      outsideBand.push(performance!.accuracy < estimated!.band.accuracy[0] || performance!.accuracy > estimated!.band.accuracy[1]);
      // the label-free estimate (CBPE) sees the inputs, which hardly move: it stays at the
      // baseline (0.785) while the concept moves realised accuracy away from it
      expect(baseline?.kind).toBe("classification");
      expect(Math.abs(estimated!.accuracy - baseline!.accuracy!), `${p.period}: estimated ${estimated!.accuracy}`).toBeLessThan(0.01);
    }
    // the concept drifts: from the worst month to the best, accuracy moves by more than 5 points
    expect(Math.max(...accuracies) - Math.min(...accuracies)).toBeGreaterThan(0.05);
    // which only labels show: realised accuracy leaves the estimate's band in most later months,
    // never in the reference month (measured: February to May outside, June inside)
    expect(outsideBand[0]).toBe(false);
    expect(outsideBand.slice(1).filter(Boolean).length).toBeGreaterThanOrEqual(3);
  });
});
