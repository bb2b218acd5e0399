import { h, note, replace, table } from "../dom.ts";
import { modelHref } from "../model-ref.ts";
import { firstNames } from "../../protocol/first-names.ts";
import { count, percent, when } from "../format.ts";
import type { Alert, ModelSummary } from "../types.ts";
import { pooled } from "../windows.ts";
import { type View, type ViewContext, allDrawn, loadInto, panel } from "./context.ts";
import { canaryText, shadowText } from "./rollout-text.ts";

const HOUR = 3_600_000;
/**
 * A model's drift verdict is asked again after this long: an hour's verdict moves little in a
 * minute, and asking every model's on every refresh (15 s) cost a fleet of hundreds of models
 * hundreds of drift requests a refresh.
 */
const DRIFT_KEPT_MS = 60_000;

/** A model's last hour: live rows and errors over its stable and canary (`lastHour` of the list), and dataset drift of the stable. */
interface Health {
  rows: number;
  errors: number;
  drifted: boolean | null;
}

/** A stable version's dataset drift verdict over the hour before `at`. */
interface Verdict {
  version: number;
  at: number;
  drifted: boolean | null;
}

/** The model's health; its drift verdict from `kept` while it is the stable's and under a minute old. */
async function health(ctx: ViewContext, m: ModelSummary, now: number, kept: Map<string, Verdict>): Promise<Health> {
  if (!m.rollout) return { rows: 0, errors: 0, drifted: null };
  const key = `${m.app}/${m.name}`;
  let known = kept.get(key);
  if (!known || known.version !== m.rollout.stable || now - known.at >= DRIFT_KEPT_MS) {
    const drift = await ctx.api.drift({ model: m, from: now - HOUR, to: now, version: m.rollout.stable });
    known = { version: m.rollout.stable, at: now, drifted: drift.count > 0 ? drift.dataset.drifted : null };
    kept.set(key, known);
  }
  return { ...m.lastHour, drifted: known.drifted };
}

function verdict(drifted: boolean | null): HTMLElement {
  if (drifted === null) return h("span", { class: "muted" }, "no traffic");
  return h("span", { class: drifted ? "badge badge-bad" : "badge badge-good" }, drifted ? "drifted" : "no drift");
}

function modelRow(m: ModelSummary, x: Health): HTMLElement {
  const r = m.rollout;
  const total = x.rows + x.errors;
  return h(
    "tr",
    { "data-app": m.app, "data-model": m.name },
    h("th", { scope: "row" }, h("a", { href: modelHref(m) }, m.name)),
    h("td", {}, m.app),
    h("td", {}, r ? `v${r.stable}` : "–"),
    h("td", {}, canaryText(r)),
    h("td", {}, shadowText(r)),
    h("td", { class: "num" }, r?.configVersion ?? "–"),
    h("td", { class: "num" }, `v${m.latestVersion}`),
    h("td", { class: "num" }, count(x.rows)),
    h("td", { class: "num" }, total > 0 ? percent(x.errors / total, 2) : "–"),
    h("td", {}, verdict(x.drifted)),
  );
}

/** Firing alerts by model (app and name), version and kind, in the order of each group's newest alert. */
function byCondition(alerts: readonly Alert[]): Alert[][] {
  const groups = new Map<string, Alert[]>();
  for (const a of alerts) {
    const key = JSON.stringify([a.app, a.model, a.version, a.kind]);
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  return [...groups.values()];
}

/** One entry: a kind of alert of a model version; its message, or the subjects when several fire. */
function alertItem(group: readonly Alert[]): HTMLElement {
  const a = group[0]!;
  // the API lists alerts newest first: the group's last is its oldest
  const since = group.at(-1)!.at;
  const subjects = group.flatMap((x) => (x.subject ? [x.subject] : []));
  return h(
    "li",
    { class: "alert", "data-kind": a.kind, "data-app": a.app, "data-model": a.model },
    h("strong", {}, a.kind.replaceAll("_", " ")),
    " ",
    h("a", { href: modelHref({ app: a.app, name: a.model }) }, `${a.model} v${a.version}`),
    // two apps may each have a model of this name
    h("span", { class: "muted" }, ` in ${a.app}`),
    group.length > 1 ? ` · ${group.length} firing: ${firstNames(subjects)}` : a.subject ? ` · ${a.subject}` : "",
    h("span", { class: "muted" }, ` since ${when(since)}`),
    group.length > 1 ? null : h("div", {}, a.message),
  );
}

function alertList(alerts: readonly Alert[]): HTMLElement {
  if (alerts.length === 0) return note("No alerts firing.");
  return h("ul", { class: "alerts" }, byCondition(alerts).map(alertItem));
}

/**
 * The fleet at a glance: every model with its rollout, config and latest version, live rows
 * and error rate over the last hour (stable + canary), the stable version's dataset drift
 * verdict over the last hour (asked once a minute: {@link DRIFT_KEPT_MS}); and the alerts firing.
 */
export function fleetView(ctx: ViewContext): View {
  const alerts = panel("Alerts firing");
  const models = panel("Models");
  replace(alerts.body, note("Loading…", "loading"));
  replace(models.body, note("Loading…", "loading"));
  const element = h("div", { class: "page" }, h("h1", {}, "Fleet"), alerts.element, models.element);
  const verdicts = new Map<string, Verdict>();
  return {
    element,
    async refresh() {
      const now = Date.now();
      const listed = Promise.all([ctx.api.models(), ctx.api.firingAlerts()]);
      const read = listed.then(([list]) => pooled(list, (m) => health(ctx, m, now, verdicts)));
      // a failure leaves no panel loading for ever
      await allDrawn([loadInto(alerts.body, listed), loadInto(models.body, read)]);
      const [[list, firing], healths] = [await listed, await read];
      replace(alerts.body, alertList(firing));
      if (list.length === 0) return replace(models.body, h("p", { class: "note note-empty" }, "No models yet: publish one with ", h("code", {}, "driftline publish"), "."));
      const head = ["model", "app", "stable", "canary", "shadow", "config", "latest", "rows (1 h)", "error rate (1 h)", "dataset drift (1 h)"];
      replace(
        models.body,
        table(
          head,
          list.map((m, i) => modelRow(m, healths[i]!)),
        ),
      );
    },
  };
}
