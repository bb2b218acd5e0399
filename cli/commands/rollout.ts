import { AnswerError, type Connection, request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, CliError, UsageError, intFlag, numberFlag, onePositional, parse } from "../args.ts";
import { type AuditEntry, type RolloutView, modelDetailSchema, rolloutAnswerSchema, rolloutViewSchema } from "../../protocol/api.ts";
import { rolloutTag } from "../../protocol/rollout-tag.ts";
import { describeRollout } from "../format.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline rollout <model> [--stable V] [--canary V --percent P] [--shadow V [--shadow-rate R]] [--no-canary] [--no-shadow] [--sample-rate R] [--log-rate R] [--log-retention DAYS]

Changes who runs which version. Each change is audited; subscribed clients learn it at once (the
rollout channel), others on their next report or poll.

  --stable V        make version V the stable one (promotes a canary of V)
  --canary V        run version V on --percent P of clients (sticky per client)
  --percent P       canary share, 0–100 (raising it only adds clients)
  --shadow V        run version V beside the live one on sampled rows, outputs never shown
                    (driftline status shows how often it agrees with the live version)
  --shadow-rate R   share of rows the shadow sees, (0, 1] (default 0.1)
  --no-canary       end the canary
  --no-shadow       end the shadow
  --sample-rate R   share of rows clients sketch and report, (0, 1]
  --log-rate R      share of rows sent raw for offline analysis by apps that allow it
                    (createRuntime({ logging: true })), [0, 1]; 0 turns logging off (default)
  --log-retention DAYS  days logged rows are kept (default 30)
  --url URL --key KEY  the collector and an admin key (default: DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY)
  --app APP         the model's app (bootstrap admin key only; default: DRIFTLINE_APP)`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  stable: { type: "string" },
  canary: { type: "string" },
  percent: { type: "string" },
  shadow: { type: "string" },
  "shadow-rate": { type: "string" },
  "no-canary": { type: "boolean" },
  "no-shadow": { type: "boolean" },
  "sample-rate": { type: "string" },
  "log-rate": { type: "string" },
  "log-retention": { type: "string" },
} as const;

/** `driftline rollout`: PUT /v1/models/:model/rollout. */
export const rollout: Command = {
  name: "rollout",
  summary: "set the stable version, a canary with a percent, or a shadow",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const model = onePositional(positionals, "the model name");
    const change: Record<string, unknown> = {};
    if (values.stable) change.stable = intFlag(values.stable, "stable", 1, 1e9);
    if (values.canary) {
      if (!values.percent) throw new UsageError("--canary needs --percent");
      change.canary = { version: intFlag(values.canary, "canary", 1, 1e9), percent: numberFlag(values.percent, "percent", 0, 100) };
    } else if (values.percent) throw new UsageError("--percent goes with --canary");
    if (values["no-canary"]) {
      if (values.canary) throw new UsageError("--canary and --no-canary contradict each other");
      change.canary = null;
    }
    if (values.shadow) {
      change.shadow = { version: intFlag(values.shadow, "shadow", 1, 1e9), sampleRate: numberFlag(values["shadow-rate"] ?? "0.1", "shadow-rate", 1e-6, 1) };
    } else if (values["shadow-rate"]) throw new UsageError("--shadow-rate goes with --shadow");
    if (values["no-shadow"]) {
      if (values.shadow) throw new UsageError("--shadow and --no-shadow contradict each other");
      change.shadow = null;
    }
    if (values["sample-rate"]) change.sampleRate = numberFlag(values["sample-rate"], "sample-rate", 1e-6, 1);
    if (values["log-rate"]) change.logRate = numberFlag(values["log-rate"], "log-rate", 0, 1);
    if (values["log-retention"]) change.logRetentionDays = intFlag(values["log-retention"], "log-retention", 1, 3650);
    if (Object.keys(change).length === 0) throw new UsageError("say what to change: --stable, --canary/--percent, --shadow, --no-canary, --no-shadow, --sample-rate, --log-rate or --log-retention");
    const result = await request(connection(values), `/v1/models/${encodeURIComponent(model)}/rollout`, { method: "PUT", json: change, answer: rolloutAnswerSchema });
    console.log(`${model}: ${result.changed ? "" : "unchanged, "}${describeRollout(result.rollout)}`);
  },
};

/** One change of {@link changeOnce}: how to send it, and how to know it in the audit log. */
interface DecidedChange {
  method: "PUT" | "POST";
  /** After `/v1/models/<model>`: "/rollout" or "/rollback". */
  path: string;
  json?: unknown;
  /** What the command does, for its failure: "promoted", "rolled back". */
  done: string;
  /** Whether an audit entry is this change (made from the rollout it was decided on). */
  isThis(entry: AuditEntry): boolean;
}

/**
 * Sends a change decided on the rollout `seen` with `If-Match`, so it lands on that rollout only
 * (never on one another operator or the guardrail changed meanwhile), and sends it again if its
 * connection closes unanswered. A 412 then means the rollout is no longer `seen`: when the audit
 * log's change from `seen` is this change (an earlier try whose answer was lost, or the same
 * change by another caller), the rollout it left; otherwise a CliError that nothing was done.
 *
 * @param conn - where and as whom
 * @param model - the model's name
 * @param seen - the rollout the change was decided on
 * @param change - the request and how to recognise it
 * @returns the rollout after the change
 */
async function changeOnce(conn: Connection, model: string, seen: RolloutView, change: DecidedChange): Promise<RolloutView> {
  const path = `/v1/models/${encodeURIComponent(model)}`;
  const headers = { "If-Match": rolloutTag(seen.configVersion) };
  try {
    return (await request(conn, path + change.path, { method: change.method, json: change.json, headers, resendable: true, answer: rolloutAnswerSchema })).rollout;
  } catch (err) {
    if (!(err instanceof AnswerError && err.status === 412)) throw err;
    const detail = await request(conn, path, { answer: modelDetailSchema });
    const made = detail.audit.find((entry) => (entry.before as RolloutView | null)?.configVersion === seen.configVersion);
    if (made && change.isThis(made)) return made.after as RolloutView;
    const now = detail.rollout?.configVersion ?? "none";
    throw new CliError(`${model}'s rollout changed since it was read (config ${seen.configVersion} → ${now}${made ? `, ${made.action}` : ""}): nothing ${change.done}; see driftline status ${model}`);
  }
}

/** `driftline promote`: make the running canary the stable version. */
export const promote: Command = {
  name: "promote",
  summary: "make the current canary the stable version",
  usage: `driftline promote <model> [--url URL --key KEY] [--app APP]\n\nSets the stable version to the running canary's version and ends the canary (and a shadow\nof that version). Applies only to the rollout it read: if that changed meanwhile (another\noperator, the guardrail's rollback), nothing is promoted and the command fails.`,
  async run(argv) {
    const { values, positionals } = parse(argv, CONNECTION_OPTIONS);
    const model = onePositional(positionals, "the model name");
    const conn = connection(values);
    const current = await request(conn, `/v1/models/${encodeURIComponent(model)}/rollout`, { answer: rolloutViewSchema });
    if (!current.canary) throw new CliError(`${model} has no canary to promote (stable is version ${current.stable})`);
    const version = current.canary.version;
    const after = await changeOnce(conn, model, current, {
      method: "PUT",
      path: "/rollout",
      json: { stable: version },
      done: "promoted",
      isThis: (entry) => entry.action === "promote" && (entry.after as RolloutView).stable === version,
    });
    console.log(`${model}: promoted version ${version}; ${describeRollout(after)}`);
  },
};

/** `driftline rollback`: POST /v1/models/:model/rollback. */
export const rollback: Command = {
  name: "rollback",
  summary: "end the canary, or return to the previous stable version",
  usage: `driftline rollback <model> [--url URL --key KEY] [--app APP]\n\nWith a canary running, ends it; otherwise returns stable to the previous stable version.\nSubscribed clients learn it at once (the rollout channel), others on their next report or poll.\nRolls back once from the rollout it read: sent again after a lost answer it does not roll\nback twice, and if the rollout changed meanwhile nothing is rolled back and the command fails.`,
  async run(argv) {
    const { values, positionals } = parse(argv, CONNECTION_OPTIONS);
    const model = onePositional(positionals, "the model name");
    const conn = connection(values);
    const current = await request(conn, `/v1/models/${encodeURIComponent(model)}/rollout`, { answer: rolloutViewSchema });
    const after = await changeOnce(conn, model, current, { method: "POST", path: "/rollback", done: "rolled back", isThis: (entry) => entry.action === "rollback" });
    console.log(`${model}: rollback; ${describeRollout(after)}`);
  },
};
