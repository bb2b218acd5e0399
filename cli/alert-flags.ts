import { formatNameList } from "../protocol/name-list.ts";
import { OBJECTIVE_FIELDS } from "../protocol/objective-names.ts";
import type { AlertConfigAnswer } from "../protocol/schema/alert-config.ts";
import { UsageError, intFlag, listFlag, numberFlag } from "./args.ts";

/** A field of the configuration `PUT /v1/models/:model/alerts` takes. */
type Field = Exclude<keyof AlertConfigAnswer, "model">;

/** One command-line flag for one field of the alert configuration. */
interface ConfigFlag {
  flag: string;
  field: Field;
  /** Placeholder of its value in the usage text. */
  value: string;
  help: string;
  parse(text: string): unknown;
  show(value: never): string;
}

/** A duration in milliseconds: `20ms`, `1.5s` or a bare number of milliseconds. */
function milliseconds(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration like 20ms or 1.5s, got "${text}"`);
  const ms = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
  return numberFlag(String(ms), flag, 0.001, 3_600_000);
}

/** A unit of a flag and the suffixes it may be written with, each with its size in the unit. */
interface Unit {
  name: string;
  suffixes: Record<string, number>;
  example: string;
}

const MINUTES: Unit = { name: "minutes", suffixes: { m: 1, h: 60, d: 1440 }, example: "90, 90m, 2h or 1d" };
const DAYS: Unit = { name: "days", suffixes: { d: 1 }, example: "30 or 30d" };

/** A whole number of `unit` from 1 to `max`, bare or with one of its suffixes (`30d`; `90m`, `2h`). */
function withUnit(text: string, flag: string, unit: Unit, max: number): number {
  const [, digits, suffix] = /^(\d+)([a-z]?)$/.exec(text.trim()) ?? [];
  const size = suffix ? unit.suffixes[suffix] : 1;
  const n = digits !== undefined && size !== undefined ? Number(digits) * size : Number.NaN;
  if (!(n >= 1 && n <= max)) throw new UsageError(`--${flag} must be whole ${unit.name} from 1 to ${max}, e.g. ${unit.example}, got "${text}"`);
  return n;
}

const rate = (flag: string) => (text: string) => numberFlag(text, flag, 1e-9, 1);

/** A webhook URL: an absolute http(s) one (the collector also refuses private hosts: docs/security.md). */
function webhookUrl(text: string): string {
  if (!/^https?:\/\//i.test(text) || !URL.canParse(text)) throw new UsageError(`--webhook must be an http:// or https:// URL, got "${text}"`);
  return text;
}
const share = (x: number) => String(x);
const perSecond = (x: number) => `at least ${x} predictions/s`;

/** Every flag of `driftline alerts`, in the order they are shown. */
export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  { flag: "webhook", field: "webhook", value: "URL", help: "post every alert here (Slack incoming webhooks work)", parse: webhookUrl, show: (u: string) => u },
  {
    flag: "dataset-drift",
    field: "datasetDrift",
    value: "SHARE",
    help: "fire when this share of features drifts",
    parse: rate("dataset-drift"),
    show: (x: number) => `share of drifted features ≥ ${x}`,
  },
  {
    flag: "feature-drift",
    field: "featureDrift",
    value: "A,B|*",
    help: "fire when these features drift (* for every one)",
    parse: (t) => {
      const names = listFlag(t, "feature-drift");
      if (names.length === 0) throw new UsageError("--feature-drift needs feature names or *");
      return names;
    },
    show: (names: string[]) => `drift of ${formatNameList(names)}`,
  },
  { flag: "error-rate", field: "errorRate", value: "R", help: "objective: errors / (rows + errors) below R", parse: rate("error-rate"), show: (x: number) => `below ${share(x)}` },
  {
    flag: "p95",
    field: "latencyP95Ms",
    value: "MS",
    help: "objective: p95 latency of each backend and device class, e.g. 20ms",
    parse: (t) => milliseconds(t, "p95"),
    show: (x: number) => `≤ ${x} ms per backend and device class`,
  },
  {
    flag: "p99",
    field: "latencyP99Ms",
    value: "MS",
    help: "objective: p99 latency of each backend and device class",
    parse: (t) => milliseconds(t, "p99"),
    show: (x: number) => `≤ ${x} ms per backend and device class`,
  },
  { flag: "fleet-rps", field: "throughputFleet", value: "N", help: "objective: the fleet serves at least N predictions/s", parse: (t) => numberFlag(t, "fleet-rps", 1e-9, 1e9), show: perSecond },
  { flag: "client-rps", field: "throughputClient", value: "N", help: "objective: one client sustains at least N predictions/s", parse: (t) => numberFlag(t, "client-rps", 1e-9, 1e9), show: perSecond },
  {
    flag: "period",
    field: "sloPeriodDays",
    value: "DAYS",
    help: "error budget period of the objectives, e.g. 30d (default 30)",
    parse: (t) => withUnit(t, "period", DAYS, 365),
    show: (d: number) => `${d} days`,
  },
  {
    flag: "accuracy-drop",
    field: "accuracyDrop",
    value: "D",
    help: "fire when labelled accuracy falls D below the profile's baseline",
    parse: rate("accuracy-drop"),
    show: (x: number) => `more than ${x} below the baseline`,
  },
  {
    flag: "estimated-accuracy-drop",
    field: "estimatedAccuracyDrop",
    value: "D",
    help: "fire when accuracy estimated without labels falls D below the baseline",
    parse: rate("estimated-accuracy-drop"),
    show: (x: number) => `estimated more than ${x} below the baseline`,
  },
  {
    flag: "mae-increase",
    field: "maeIncrease",
    value: "S",
    help: "fire when labelled MAE exceeds the baseline's by this share",
    parse: (t) => numberFlag(t, "mae-increase", 1e-9, 1000),
    show: (x: number) => `more than ${x * 100} % above the baseline`,
  },
  { flag: "min-labelled", field: "minLabelled", value: "N", help: "labels a window needs before performance is judged (default 100)", parse: (t) => intFlag(t, "min-labelled", 1, 1e9), show: String },
  {
    flag: "window",
    field: "windowMinutes",
    value: "MIN",
    help: "trailing window each evaluation judges, e.g. 90m or 2h (default 60m)",
    parse: (t) => withUnit(t, "window", MINUTES, 1440),
    show: (m: number) => `${m} min`,
  },
  { flag: "min-rows", field: "minRows", value: "N", help: "rows a window needs to be judged (default 100); its error rate, as many calls", parse: (t) => intFlag(t, "min-rows", 1, 1e9), show: String },
  {
    flag: "confirm",
    field: "confirm",
    value: "K/M",
    help: "fire when a condition held in K of the last M evaluations (default 1/1)",
    parse: (t) => {
      const m = /^(\d+)\/(\d+)$/.exec(t.trim());
      if (!m) throw new UsageError(`--confirm must be K/M, like 3/5, got "${t}"`);
      const k = intFlag(m[1]!, "confirm", 1, 60);
      const of = intFlag(m[2]!, "confirm", 1, 60);
      if (k > of) throw new UsageError(`--confirm: K must be at most M, got ${t}`);
      return { k, m: of };
    },
    show: (c: { k: number; m: number }) => `${c.k} of the last ${c.m} evaluations`,
  },
  {
    flag: "auto-rollback",
    field: "autoRollback",
    value: "on|off",
    help: "roll a canary back when one of its conditions fires (default on)",
    parse: (t) => {
      if (t !== "on" && t !== "off") throw new UsageError(`--auto-rollback must be on or off, got "${t}"`);
      return t === "on";
    },
    show: (on: boolean) => (on ? "on" : "off"),
  },
];

/** The flags of the objectives and their period, which `driftline slo` takes. */
export const SLO_FLAGS = CONFIG_FLAGS.filter((f) => [...OBJECTIVE_FIELDS, "sloPeriodDays"].includes(f.field));

/**
 * parseArgs declarations of `flags`, plus `--clear` (a list of those flags to stop watching).
 *
 * @param flags - the configuration flags a command takes
 */
export function configOptions(flags: readonly ConfigFlag[]) {
  return Object.fromEntries([...flags.map((f) => [f.flag, { type: "string" as const }]), ["clear", { type: "string" as const }]]) as Record<string, { type: "string" }>;
}

/**
 * The usage lines of `flags`.
 *
 * @param flags - the configuration flags a command takes
 */
export function configUsage(flags: readonly ConfigFlag[]): string {
  return flags.map((f) => `  --${`${f.flag} ${f.value}`.padEnd(22)} ${f.help}`).join("\n");
}

/** What the flags change in a configuration: fields set to parsed values, fields cleared. */
export interface ConfigChange {
  set: Record<string, unknown>;
  clear: string[];
}

/**
 * The change the flags ask for, every value parsed (a UsageError for a bad one, before anything
 * is asked of the collector), or undefined when they ask for none.
 *
 * @param flags - the flags the command takes
 * @param values - parsed flag values
 */
export function configChange(flags: readonly ConfigFlag[], values: Record<string, string | boolean | undefined>): ConfigChange | undefined {
  const given = flags.filter((f) => typeof values[f.flag] === "string");
  const clear = listFlag(values.clear as string | undefined, "clear").map((name) => {
    const f = flags.find((x) => x.flag === name.replace(/^--/, ""));
    if (!f) throw new UsageError(`--clear: no flag "${name}" (one of ${flags.map((x) => x.flag).join(", ")})`);
    if (given.includes(f)) throw new UsageError(`--${f.flag} is both set and cleared`);
    return f.field;
  });
  if (given.length === 0 && clear.length === 0) return undefined;
  return { set: Object.fromEntries(given.map((f) => [f.field, f.parse(values[f.flag] as string)])), clear };
}

/**
 * The configuration to PUT: `current` (as GET answered it) with `change` applied.
 *
 * @param current - the stored configuration
 * @param change - from {@link configChange}
 */
export function changedConfig(current: AlertConfigAnswer, change: ConfigChange): Record<string, unknown> {
  const { model: _model, webhook, ...rest } = current;
  const next: Record<string, unknown> = { ...rest, ...(webhook !== null && { webhook }), ...change.set };
  for (const field of change.clear) delete next[field];
  return next;
}

/**
 * One row per watched field of `config`: the flag that sets it and what it watches. The error
 * budget period, which the collector stores with a default, only beside an objective.
 *
 * @param config - the configuration
 * @param flags - the flags to show
 */
export function configRows(config: AlertConfigAnswer, flags: readonly ConfigFlag[]): string[][] {
  const set = (field: Field) => config[field] !== undefined && config[field] !== null;
  const objective = OBJECTIVE_FIELDS.some(set);
  return flags.filter((f) => set(f.field) && (f.field !== "sloPeriodDays" || objective)).map((f) => [`--${f.flag}`, f.show(config[f.field] as never)]);
}
