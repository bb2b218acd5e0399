import type { SloObjective, StatsAnswer } from "../../protocol/api.ts";
import { DEVICE_SEGMENT_KEY } from "../../protocol/device-class.ts";
import { Aggregate } from "../aggregates/aggregate.ts";
import { readKeySlices, readWindow } from "../aggregates/store.ts";
import type { WindowQuery } from "../aggregates/windows.ts";
import type { Db } from "../db/client.ts";
import { iso } from "../time.ts";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";
import { conditionKey } from "./conditions.ts";
import { type SloInput, budgetLeft, measureObjectives, objectivesOf } from "./slo.ts";

const DAY_MS = 86_400_000;

/** A version's aggregate and its device classes over [from, to). */
async function sloInput(env: Env, db: Db, q: WindowQuery, from: number, to: number, aggregate?: Aggregate): Promise<SloInput> {
  const slice = { model: q.model, version: q.version, role: q.role, from, to };
  const [read, devices] = await Promise.all([
    aggregate ? undefined : readWindow(env, db, { ...slice, versions: [q.version], segment: "" }, ["latency", "errors"]),
    readKeySlices(env, db, slice, DEVICE_SEGMENT_KEY, ["latency"]),
  ]);
  return { aggregate: aggregate ?? read?.byVersion.get(q.version) ?? new Aggregate(), devices: devices.byValue, windowMs: to - from };
}

/**
 * The `slo` part of `GET /v1/stats`: each objective of `config` (per backend and device class
 * for latency) measured over the query's range as it was, and whether it is met as the alerts judge
 * it (the heaviest sender left out), with the error budget left over the `sloPeriodDays` days that end at the
 * range's end. Null when the configuration sets no objective or the query is sliced by segment.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param config - the model's alert configuration, if any
 * @param q - the stats query
 * @param range - the range read and its merged aggregate
 */
export async function sloAnswer(env: Env, db: Db, config: AlertConfig | undefined, q: WindowQuery, range: { from: number; to: number; aggregate: Aggregate }): Promise<StatsAnswer["slo"]> {
  if (!config || objectivesOf(config).length === 0 || q.segment !== "") return null;
  const periodFrom = range.to - config.sloPeriodDays * DAY_MS;
  const [now, period] = await Promise.all([sloInput(env, db, q, range.from, range.to, range.aggregate), sloInput(env, db, q, periodFrom, range.to)]);
  const measured = new Map(measureObjectives(config, now, false).map((m) => [conditionKey(m), m]));
  const judged = new Map(measureObjectives(config, now, true).map((m) => [conditionKey(m), !m.breached]));
  // a subject seen in the period but not in the range still shows its budget
  for (const m of measureObjectives(config, period, false)) {
    const id = conditionKey(m);
    if (!measured.has(id)) measured.set(id, { ...m, value: Number.NaN });
  }
  const objectives: SloObjective[] = [...measured.entries()].map(([id, m]) => {
    const value = Number.isNaN(m.value) ? null : m.value;
    const met = value === null ? null : !m.breached;
    return { kind: m.kind, subject: m.subject || null, target: m.target, value, met, judged_met: met === null ? null : (judged.get(id) ?? null), budget_left: budgetLeft(m, period) };
  });
  // an objective nothing was measured for still shows, without data
  for (const { kind, target } of objectivesOf(config)) {
    if (!objectives.some((o) => o.kind === kind)) objectives.push({ kind, subject: null, target, value: null, met: null, judged_met: null, budget_left: null });
  }
  return { period: { from: iso(periodFrom), to: iso(range.to), days: config.sloPeriodDays }, objectives };
}
