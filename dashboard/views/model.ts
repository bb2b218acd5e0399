import { h, note, replace } from "../dom.ts";
import { canonicalSegment } from "../../protocol/segment.ts";
import { ApiError } from "../api.ts";
import { type ModelRef, modelHref } from "../model-ref.ts";
import type { ModelDetail, Segments } from "../types.ts";
import { HOUR, hoursOf, span, windowsOf } from "../windows.ts";
import { type View, type ViewContext, allDrawn, loadInto, panel, select } from "./context.ts";
import { distributionSection } from "./distribution.ts";
import { renderAlerts } from "./alerts.ts";
import { renderDrift } from "./drift.ts";
import { renderHistory } from "./history.ts";
import { renderLatency } from "./latency.ts";
import { renderRollout, shadowAgreements } from "./rollout.ts";
import type { Selection } from "./selection.ts";

/** The drift selection: a version ("" = whatever is stable), role and segment. */
interface Choice {
  version: string;
  role: "live" | "shadow";
  segment: string;
}

/** Where the tab keeps a model's drift selection, so a reload shows the same one (as the range: ../windows.ts). */
const choiceKey = (m: ModelRef) => `driftline.choice:${modelHref(m)}`;

/** The drift selection this tab made last for a model, else all traffic of the stable version, live. */
function keptChoice(m: ModelRef): Choice {
  let kept: Partial<Record<keyof Choice, unknown>> = {};
  try {
    kept = JSON.parse(sessionStorage.getItem(choiceKey(m)) ?? "{}") ?? {};
  } catch {
    // a value this code did not write: the default
  }
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return { version: /^\d*$/.test(text(kept.version)) ? text(kept.version) : "", role: kept.role === "shadow" ? "shadow" : "live", segment: text(kept.segment) };
}

/** The segment slices a model's traffic can be cut into: canonical `key:value` and its label. */
const segmentSlices = (segments: Segments): [string, string][] =>
  Object.entries(segments).flatMap(([key, values]) => values.map((v): [string, string] => [canonicalSegment({ [key]: v }), `${key} = ${v}`]));

/** A kept choice of a version or segment the model no longer has falls back to the default. */
function currentChoice(choice: Choice, detail: ModelDetail, segments: Segments): void {
  if (choice.version && !detail.versions.some((v) => String(v.version) === choice.version)) choice.version = "";
  if (choice.segment && !segmentSlices(segments).some(([slice]) => slice === choice.segment)) choice.segment = "";
}

function selectors(detail: ModelDetail, segments: Segments, choice: Choice, changed: () => void): HTMLElement[] {
  const stable = detail.rollout?.stable;
  const versions: [string, string][] = [["", `stable${stable ? ` (v${stable})` : ""}`], ...[...detail.versions].reverse().map((v): [string, string] => [String(v.version), `v${v.version}`])];
  const slices: [string, string][] = [["", "all traffic"], ...segmentSlices(segments)];
  const set = (field: keyof Choice) => (value: string) => {
    (choice as unknown as Record<string, string>)[field] = value;
    changed();
  };
  return [
    select("version", versions, choice.version, set("version")),
    select(
      "role",
      [
        ["live", "live"],
        ["shadow", "shadow"],
      ],
      choice.role,
      set("role"),
    ),
    select("segment", slices, choice.segment, set("segment")),
  ];
}

/**
 * One model: rollout state and buttons; drift per feature × window, dataset and prediction drift;
 * the distribution of a chosen feature against the reference; latency and errors per backend;
 * alert conditions, objectives and recent alerts (editable with an admin key); versions and audit log. Version, role and segment pick what the drift sections show
 * (kept for the tab, as the range is, through reloads).
 *
 * @param ctx - the app's context
 * @param link - the model the URL names
 */
export function modelView(ctx: ViewContext, link: ModelRef): View {
  let model = link;
  const choice = keptChoice(link);
  const controls = h("div", { class: "controls", role: "group", "aria-label": "drift selection" });
  const rollout = panel("Rollout");
  const hourly = h("span", { class: "muted", hidden: true }, "by hour: a segment's data is kept per hour");
  const drift = panel("Drift", controls, hourly);
  const dist = distributionSection(ctx);
  const distribution = panel("Distribution against the reference", dist.tools);
  const latency = panel("Latency and errors per backend");
  const alerts = panel("Alerts and objectives");
  const versions = panel("Versions");
  const audit = panel("Audit log");
  for (const p of [rollout, drift, distribution, latency, alerts, versions, audit]) replace(p.body, note("Loading…", "loading"));
  const app = h("span", {}, link.app ?? "");
  let shownControls = "";
  const refresh = async () => {
    const read = Promise.all([ctx.api.model(model), ctx.api.segments(model)]);
    const [detail, segments] = await read.catch(async (err: unknown) => {
      // a model the key's app does not have (404), or a name several apps have and the link names no app (400): every panel says so
      if (err instanceof ApiError && (err.status === 404 || err.status === 400))
        for (const p of [rollout, drift, distribution, latency, alerts, versions, audit]) replace(p.body, note(err.message, "error"));
      // any other failure: the panels still loading say why, none keeps loading
      await Promise.allSettled([rollout, drift, distribution, latency, alerts, versions, audit].map((p) => loadInto(p.body, read)));
      throw err;
    });
    // the user went elsewhere meanwhile: this page is no longer shown, and its address no longer the one to rewrite
    if (!element.isConnected) return;
    if (model.app === undefined) {
      // an old link: from now on the model of the app the collector found, and an address that names it
      model = { app: detail.app, name: detail.name };
      app.textContent = detail.app;
      history.replaceState(null, "", modelHref(model));
    }
    currentChoice(choice, detail, segments);
    // Rebuilt only when the options change, so a refresh never closes an open picker.
    const key = JSON.stringify([detail.versions.length, detail.rollout?.stable, segments, choice]);
    if (key !== shownControls) {
      shownControls = key;
      replace(
        controls,
        // through the app's refresh, one at a time: a refresh still waiting for the choice before
        // never ends after the new one and overwrites it
        selectors(detail, segments, choice, () => {
          sessionStorage.setItem(choiceKey(model), JSON.stringify(choice));
          void ctx.refresh();
        }),
      );
    }
    const windows = windowsOf(ctx.preset(), Date.now());
    renderHistory(versions.body, audit.body, detail);
    const agreed = shadowAgreements(ctx, detail, span(windows)).then((agreements) => renderRollout(ctx, rollout.body, detail, agreements));
    const shown = [loadInto(rollout.body, agreed), loadInto(alerts.body, renderAlerts(ctx, alerts.body, model, detail.rollout?.stable, span(windows)))];
    const version = choice.version ? Number(choice.version) : detail.rollout?.stable;
    if (version === undefined) {
      for (const p of [drift, distribution, latency]) replace(p.body, note("No rollout yet."));
      return allDrawn(shown);
    }
    // sliced by a segment, the drift sections show the hours the range touches
    hourly.hidden = !(choice.segment && ctx.preset().sizeMs < HOUR);
    const sel: Selection = { model, version, role: choice.role, segment: choice.segment, windows: hourly.hidden ? windows : hoursOf(span(windows)) };
    await allDrawn([
      ...shown,
      loadInto(drift.body, renderDrift(ctx, drift.body, sel)),
      loadInto(distribution.body, dist.render(distribution.body, sel)),
      loadInto(latency.body, renderLatency(ctx, latency.body, model, detail.rollout, segments, windows)),
    ]);
  };
  const element = h(
    "div",
    { class: "page" },
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Fleet"), " / ", app, " / "),
    h("h1", {}, link.name),
    h("div", { class: "grid" }, rollout.element, versions.element),
    drift.element,
    distribution.element,
    latency.element,
    alerts.element,
    audit.element,
  );
  return { element, refresh };
}
