import { alertListSchema } from "../../protocol/api.ts";
import { deliveryText } from "../../protocol/alert-delivery.ts";
import { type AlertConfigAnswer, alertConfigAnswerSchema } from "../../protocol/schema/alert-config.ts";
import { CONFIG_FLAGS, changedConfig, configChange, configOptions, configRows, configUsage } from "../alert-flags.ts";
import { type Connection, connection, request } from "../api.ts";
import { CONNECTION_OPTIONS, onePositional, parse } from "../args.ts";
import { table } from "../format.ts";
import { printableJson } from "../../protocol/printable.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline alerts <model> [flags to change] [--clear FLAG,FLAG] [--json] [--url URL --key KEY] [--app APP]

Shows every alert condition of a model — webhook, drift, objectives, performance, confirmation —
and its recent alerts; with flags, changes them first (the rest stays as it is).

${configUsage(CONFIG_FLAGS)}
  --clear FLAG,FLAG        stop watching these (e.g. --clear p95,webhook)
  --json                   print the configuration and recent alerts as JSON`;

/** Recent alerts of a model shown under its configuration. */
const RECENT = 10;

/**
 * Reads a model's alert configuration, PUTs it back with the changes the flags ask for (if any),
 * and returns what is stored. The flags are parsed first: a bad value is a usage mistake, whether
 * or not the collector answers.
 *
 * @param conn - where and as whom
 * @param model - the model
 * @param flags - the configuration flags the command takes
 * @param values - parsed flag values
 */
export async function updateConfig(conn: Connection, model: string, flags: typeof CONFIG_FLAGS, values: Record<string, string | boolean | undefined>): Promise<AlertConfigAnswer> {
  const path = `/v1/models/${encodeURIComponent(model)}/alerts`;
  const change = configChange(flags, values);
  const current = await request(conn, path, { answer: alertConfigAnswerSchema });
  return change ? request(conn, path, { method: "PUT", json: changedConfig(current, change), answer: alertConfigAnswerSchema }) : current;
}

/**
 * The header line of a configuration: window, rows and confirmation, canary guardrail.
 *
 * @param config - the configuration
 */
export function describeJudging(config: AlertConfigAnswer): string {
  if (config.windowMinutes === undefined) return "nothing watched yet";
  const confirm = config.confirm ?? { k: 1, m: 1 };
  const labels = config.accuracyDrop !== undefined || config.maeIncrease !== undefined ? ` (performance once it has ${config.minLabelled} labels)` : "";
  return `judged every minute over the last ${config.windowMinutes} min once it has ${config.minRows} rows${labels}; fires after ${confirm.k} of ${confirm.m} evaluations; canary auto-rollback ${config.autoRollback ? "on" : "off"}`;
}

/** `driftline alerts`: GET (and PUT) /v1/models/:model/alerts, GET /v1/alerts?model=. */
export const alerts: Command = {
  name: "alerts",
  summary: "show or change a model's alert conditions and objectives",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, ...configOptions(CONFIG_FLAGS), json: { type: "boolean" } });
    const model = onePositional(positionals, "the model name");
    const conn = connection(values);
    const config = await updateConfig(conn, model, CONFIG_FLAGS, values);
    const recent = (await request(conn, `/v1/alerts?model=${encodeURIComponent(model)}&limit=${RECENT}`, { answer: alertListSchema })).alerts;
    if (values.json) return void console.log(printableJson({ config, alerts: recent }, 2));
    console.log(`${model}: ${describeJudging(config)}`);
    // how conditions are judged is the line above, not a condition
    const rows = configRows(config, CONFIG_FLAGS).filter(([flag]) => !["--window", "--min-rows", "--min-labelled", "--confirm", "--auto-rollback"].includes(flag!));
    if (rows.length > 0) console.log(`\n${table(["condition", "watches"], rows)}`);
    if (config.webhook === null && config.windowMinutes !== undefined) console.log("\nno webhook: alerts are recorded and shown, not posted (--webhook URL)");
    console.log(
      recent.length === 0
        ? "\nno alerts yet"
        : `\nrecent alerts\n${table(
            ["at", "version", "condition", "state", "value", "webhook"],
            recent.map((a) => [
              a.at,
              `v${a.version}`,
              a.subject ? `${a.kind} ${a.subject}` : a.kind,
              a.state,
              a.value === null ? "-" : String(+a.value.toPrecision(4)),
              deliveryText(a, config.webhook !== null),
            ]),
          )}`,
    );
  },
};
