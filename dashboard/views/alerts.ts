import { deliveryText } from "../../protocol/alert-delivery.ts";
import { formatNameList, parseNameList } from "../../protocol/name-list.ts";
import { NOT_ALERTED_REASON, OBJECTIVE_FIELDS, OBJECTIVE_NAMES } from "../../protocol/objective-names.ts";
import { h, note, replace, table } from "../dom.ts";
import { ms, num, percent, when } from "../format.ts";
import type { ModelRef } from "../model-ref.ts";
import type { Alert, AlertConfigAnswer, SloObjective } from "../types.ts";
import type { ViewContext } from "./context.ts";
import { ask } from "./dialog.ts";

/** One editable field of the alert configuration. */
interface Field {
  name: Exclude<keyof AlertConfigAnswer, "model" | "confirm" | "autoRollback"> | "confirmK" | "confirmM";
  label: string;
  /** What a value means, shown in the list of watched conditions. */
  show(value: never): string;
  kind: "url" | "number" | "list";
  /** Bounds of a number input. */
  range?: { min: number; max: number; step: number | "any" };
}

const rate = { min: 0, max: 1, step: "any" } as const;
const positive = { min: 0, max: 1e9, step: "any" } as const;
const count = (max: number) => ({ min: 1, max, step: 1 });

/** Every field the form edits, in the order shown; `confirm` is edited as its k and m. */
const FIELDS: readonly Field[] = [
  { name: "webhook", label: "webhook", kind: "url", show: (u: string) => u },
  { name: "datasetDrift", label: "dataset drift (share of features)", kind: "number", range: rate, show: (x: number) => `share of drifted features ≥ ${x}` },
  { name: "featureDrift", label: "feature drift (names, or *)", kind: "list", show: (n: string[]) => `drift of ${formatNameList(n)}` },
  { name: "errorRate", label: "objective: error rate below", kind: "number", range: rate, show: (x: number) => `below ${x}` },
  { name: "latencyP95Ms", label: "objective: p95 latency (ms)", kind: "number", range: positive, show: (x: number) => `≤ ${x} ms per backend and device class` },
  { name: "latencyP99Ms", label: "objective: p99 latency (ms)", kind: "number", range: positive, show: (x: number) => `≤ ${x} ms per backend and device class` },
  { name: "throughputFleet", label: "objective: fleet predictions/s at least", kind: "number", range: positive, show: (x: number) => `at least ${x}/s` },
  { name: "throughputClient", label: "objective: client predictions/s at least", kind: "number", range: positive, show: (x: number) => `at least ${x}/s` },
  { name: "sloPeriodDays", label: "error budget period (days)", kind: "number", range: count(365), show: (d: number) => `${d} days` },
  { name: "accuracyDrop", label: "accuracy drop below baseline", kind: "number", range: rate, show: (x: number) => `more than ${x} below the baseline` },
  { name: "estimatedAccuracyDrop", label: "estimated accuracy drop (no labels)", kind: "number", range: rate, show: (x: number) => `estimated more than ${x} below the baseline` },
  { name: "maeIncrease", label: "MAE increase over baseline (share)", kind: "number", range: positive, show: (x: number) => `more than ${x * 100} % above the baseline` },
  { name: "minLabelled", label: "labels needed to judge performance", kind: "number", range: count(1e9), show: String },
  { name: "windowMinutes", label: "window (minutes)", kind: "number", range: count(1440), show: String },
  { name: "minRows", label: "rows needed to judge a window", kind: "number", range: count(1e9), show: String },
  { name: "confirmK", label: "fire after k evaluations…", kind: "number", range: count(60), show: String },
  { name: "confirmM", label: "…of the last m", kind: "number", range: count(60), show: String },
];

/** Fields listed as conditions; the others say how conditions are judged. */
const CONDITIONS = FIELDS.filter((f) => !["minLabelled", "windowMinutes", "minRows", "confirmK", "confirmM"].includes(f.name));

/** The configuration's fields by form name (confirm split into k and m). */
function flat(config: AlertConfigAnswer): Record<string, unknown> {
  return { ...config, confirmK: config.confirm?.k, confirmM: config.confirm?.m };
}

function input(f: Field, value: unknown): HTMLElement {
  const text = value === undefined || value === null ? "" : Array.isArray(value) ? formatNameList(value) : String(value);
  const attrs = f.kind === "number" ? { type: "number", ...f.range } : { type: f.kind === "url" ? "url" : "text" };
  return h("label", { class: "field" }, h("span", {}, f.label), h("input", { name: f.name, value: text, ...attrs }));
}

/** What a text input shows of a list of names: the HTML spec strips line breaks from its value. */
const shownList = (names: unknown): string | undefined =>
  Array.isArray(names)
    ? formatNameList(names)
        .replace(/[\r\n]/g, "")
        .trim()
    : undefined;

/**
 * The configuration a submitted form asks for: empty fields are not watched (or take their
 * defaults), numbers as numbers, feature names split at commas (a name holding one in quotes;
 * a list left as shown keeps its names as stored, line breaks in them too).
 *
 * @param form - the dialog's data
 * @param values - the configuration the form showed, by field name
 */
function fromForm(form: FormData, values: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = { autoRollback: form.get("autoRollback") === "on" };
  for (const f of FIELDS) {
    const text = String(form.get(f.name) ?? "").trim();
    if (text === "") continue;
    const list = () => (text === shownList(values[f.name]) ? values[f.name] : parseNameList(text));
    config[f.name] = f.kind === "number" ? Number(text) : f.kind === "list" ? list() : text;
  }
  const { confirmK, confirmM, ...rest } = config;
  return confirmK === undefined && confirmM === undefined ? rest : { ...rest, confirm: { k: confirmK ?? 1, m: confirmM ?? confirmK } };
}

async function edit(ctx: ViewContext, model: ModelRef, config: AlertConfigAnswer): Promise<void> {
  const values = flat(config);
  const rollback = h("label", { class: "field" }, h("span", {}, "roll a canary back when it fires"), h("input", { type: "checkbox", name: "autoRollback", checked: config.autoRollback ?? true }));
  const form = await ask("Alerts and objectives", "Empty fields are not watched. Objectives fire an alert when breached, and roll a canary back.", "Save", [
    ...FIELDS.map((f) => input(f, values[f.name])),
    rollback,
  ]);
  if (form) await ctx.api.setAlertConfig(model, fromForm(form, values));
}

/** Beside a breach the alerts do not see: that no alert fires, and why. */
function notAlerted(o: SloObjective): HTMLElement | undefined {
  if (o.met !== false || o.judged_met === false) return undefined;
  return h("span", { class: "muted", title: NOT_ALERTED_REASON }, " no alert");
}

/** An objective's target or measured value with its unit: latency in ms, error rate as a percent, throughput per second. */
function withUnit(kind: string, x: number): string {
  if (kind === "latency_p95" || kind === "latency_p99") return ms(x);
  if (kind === "error_rate") return percent(x, 2);
  if (kind === "throughput_fleet" || kind === "throughput_client") return `${num(x)} predictions/s`;
  return num(x);
}

function objectivesTable(objectives: readonly SloObjective[], days: number): HTMLElement {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return table(
    ["objective", "of", "target", "measured", "verdict", `budget left (${days} d)`],
    objectives.map((o) =>
      h(
        "tr",
        { "data-objective": o.kind, "data-subject": o.subject ?? "", "data-met": o.met === null ? undefined : String(o.met) },
        h("td", {}, OBJECTIVE_NAMES[o.kind] ?? o.kind),
        h("td", {}, o.subject ?? "all"),
        h("td", {}, withUnit(o.kind, o.target)),
        h("td", {}, o.value === null ? "no data" : withUnit(o.kind, o.value)),
        h("td", {}, o.met === null ? "" : h("span", { class: o.met ? "badge badge-good" : "badge badge-bad" }, o.met ? "met" : "breached"), notAlerted(o)),
        h("td", {}, o.budget_left === null ? "–" : pct(o.budget_left)),
      ),
    ),
    "table objectives",
  );
}

function conditionList(config: AlertConfigAnswer): HTMLElement {
  const values = flat(config);
  const set = (name: string) => values[name] !== undefined && values[name] !== null;
  // the error budget period, stored with a default, only beside an objective it is the period of
  const objective = OBJECTIVE_FIELDS.some(set);
  const watched = CONDITIONS.filter((f) => set(f.name) && (f.name !== "sloPeriodDays" || objective));
  if (watched.length === 0) return note("No conditions watched.");
  return h(
    "dl",
    { class: "conditions" },
    watched.map((f) => [h("dt", {}, f.label), h("dd", { "data-condition": f.name }, f.show(values[f.name] as never))]),
  );
}

function alertList(alerts: readonly Alert[], webhook: boolean): HTMLElement {
  if (alerts.length === 0) return note("No alerts yet.");
  return h(
    "ul",
    { class: "alerts" },
    alerts.map((a) =>
      h(
        "li",
        { class: `alert alert-${a.state}`, "data-kind": a.kind },
        h("strong", {}, `${a.state} · v${a.version}`),
        " ",
        a.message,
        " ",
        h("time", {}, when(a.at)),
        h("div", { class: "muted delivery" }, `webhook: ${deliveryText(a, webhook, when)}`),
      ),
    ),
  );
}

/**
 * Renders a model's alert conditions, its objectives against what was measured over `range`
 * with the error budget left, and its recent alerts into `body`. With an admin key, "Edit
 * alerts…" opens a form of every condition and saves it with `PUT /v1/models/:model/alerts`;
 * without one the button is disabled.
 *
 * @param ctx - the app's context
 * @param body - where to render
 * @param model - the model
 * @param version - the version whose objectives are measured (the stable one)
 * @param range - the range shown
 */
export async function renderAlerts(ctx: ViewContext, body: HTMLElement, model: ModelRef, version: number | undefined, range: { from: number; to: number }): Promise<void> {
  const [config, stats, alerts] = await Promise.all([ctx.api.alertConfig(model), version === undefined ? undefined : ctx.api.stats({ model, version, ...range }), ctx.api.alerts(model, 10)]);
  const button = h(
    "button",
    {
      type: "button",
      disabled: !ctx.api.canAdmin,
      title: ctx.api.canAdmin ? undefined : "needs an admin key (Unlock rollout in the header)",
      onclick: () => edit(ctx, model, config).then(ctx.refresh, ctx.fail),
    },
    "Edit alerts…",
  );
  const judging =
    config.windowMinutes === undefined
      ? "Nothing watched yet."
      : `Judged every minute over the last ${config.windowMinutes} min; fires after ${config.confirm?.k ?? 1} of ${config.confirm?.m ?? 1} evaluations; canary auto-rollback ${config.autoRollback ? "on" : "off"}${config.webhook === null ? "; no webhook: alerts are recorded here only" : ""}.`;
  replace(
    body,
    h("p", { class: "judging" }, judging),
    config.windowMinutes === undefined ? null : conditionList(config),
    stats?.slo ? objectivesTable(stats.slo.objectives, stats.slo.period.days) : null,
    h("h3", { class: "recent-alerts" }, "Recent alerts"),
    alertList(alerts, config.webhook !== null),
    h("div", { class: "alert-actions", role: "group", "aria-label": "alert actions" }, button),
  );
}
