import { NOT_ALERTED_REASON, OBJECTIVE_NAMES } from "../../protocol/objective-names.ts";
import { type SloObjective, statsAnswerSchema } from "../../protocol/api.ts";
import { SLO_FLAGS, configOptions, configUsage } from "../alert-flags.ts";
import { connection, request } from "../api.ts";
import { CONNECTION_OPTIONS, onePositional, parse } from "../args.ts";
import { table } from "../format.ts";
import { printableJson } from "../../protocol/printable.ts";
import { updateConfig } from "./alerts.ts";
import { parseDuration } from "./drift.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline slo <model> [--p95 MS] [--p99 MS] [--error-rate R] [--fleet-rps N] [--client-rps N] [--period DAYS]
             [--clear FLAG,FLAG] [--since DURATION] [--version V] [--json] [--url URL --key KEY] [--app APP]

Shows the model's service-level objectives against what was measured (last hour by default) and
the error budget left over the period; with flags, sets them first. A breach fires an alert, and
on a canary the guardrail (driftline alerts shows every condition).

${configUsage(SLO_FLAGS)}
  --clear FLAG,FLAG        drop these objectives (e.g. --clear p99)
  --since DURATION         measure over the last 15m, 6h, 7d… (default 1h)
  --version V              measure this version (default the stable one)
  --json                   print the objectives as JSON`;

/** A value in the objective's unit. */
function inUnit(kind: string, x: number): string {
  if (kind.startsWith("latency")) return `${+x.toPrecision(4)} ms`;
  if (kind === "error_rate") return `${+(x * 100).toPrecision(3)} %`;
  return `${+x.toPrecision(4)}/s`;
}

/** Marks a breach the alerts do not see; {@link NOT_ALERTED} under the table says why. */
const NOT_ALERTED_MARK = "*";
const NOT_ALERTED = `${NOT_ALERTED_MARK} ${NOT_ALERTED_REASON} (docs/security.md)`;

/**
 * One row per objective: what, of what, target, measured, met (a breach the alerts do not see
 * marked), budget left.
 *
 * @param objectives - `slo.objectives` of `GET /v1/stats`
 */
export function objectiveRows(objectives: readonly SloObjective[]): string[][] {
  return objectives.map((o) => {
    const bound = o.kind.startsWith("throughput") ? "≥" : o.kind === "error_rate" ? "<" : "≤";
    return [
      OBJECTIVE_NAMES[o.kind] ?? o.kind,
      o.subject ?? "all",
      `${bound} ${inUnit(o.kind, o.target)}`,
      o.value === null ? "no data" : inUnit(o.kind, o.value),
      o.met === null ? "-" : o.met ? "met" : o.judged_met === false ? "BREACHED" : `BREACHED, no alert${NOT_ALERTED_MARK}`,
      o.budget_left === null ? "-" : `${Math.round(o.budget_left * 100)} %`,
    ];
  });
}

/** `driftline slo`: objectives from `PUT /v1/models/:model/alerts`, measured by `GET /v1/stats`. */
export const slo: Command = {
  name: "slo",
  summary: "set and show latency, error-rate and throughput objectives with their error budget",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, ...configOptions(SLO_FLAGS), since: { type: "string" }, version: { type: "string" }, json: { type: "boolean" } });
    const model = onePositional(positionals, "the model name");
    const conn = connection(values);
    const range = parseDuration(values.since ?? "1h");
    await updateConfig(conn, model, SLO_FLAGS, values);
    const now = Date.now();
    const query = new URLSearchParams({ model, from: String(now - range), to: String(now), ...(values.version && { version: values.version }) });
    const stats = await request(conn, `/v1/stats?${query}`, { answer: statsAnswerSchema });
    if (values.json) return void console.log(printableJson({ model, version: stats.version, from: stats.from, to: stats.to, slo: stats.slo }, 2));
    if (!stats.slo) return void console.log(`${model}: no objectives yet: driftline slo ${model} --p95 20ms --error-rate 0.01`);
    console.log(`${model} v${stats.version}: measured ${stats.from} – ${stats.to}; error budget over ${stats.slo.period.days} days\n`);
    console.log(table(["objective", "of", "target", "measured", "verdict", "budget left"], objectiveRows(stats.slo.objectives)));
    if (stats.slo.objectives.some((o) => o.met === false && o.judged_met !== false)) console.log(`\n${NOT_ALERTED}`);
  },
};
