import { barChart } from "../charts/bar-chart.ts";
import { type HeatCell, type HeatRow, heatmap } from "../charts/heatmap.ts";
import { h, note, replace } from "../dom.ts";
import { shortScore, testLabel, testScore, verdictBasis } from "../drift-score.ts";
import { firstNames } from "../../protocol/first-names.ts";
import { count, percent } from "../format.ts";
import type { DriftWindow, FeatureDrift } from "../types.ts";
import type { ViewContext } from "./context.ts";
import { type Selection, windowLabels } from "./selection.ts";

/** The dataset drifts when this share of features does (the collector's default). */
const DATASET_SHARE = 0.5;

function cell(name: string, f: FeatureDrift | null | undefined, label: string): HeatCell {
  const score = f ? testScore(f) : null;
  if (!f || score === null) return { text: "", title: `${name} ${label}: no data`, state: "none", attrs: { "data-feature": name, "data-drifted": "none" } };
  const verdict = f.drifted ? "drifted" : "no drift";
  return {
    text: shortScore(f.test, score),
    title: `${name} ${label}: ${verdictBasis(f)} — ${verdict} (${count(f.count)} values)`,
    state: f.drifted ? "drifted" : "ok",
    attrs: { "data-feature": name, "data-drifted": String(f.drifted) },
  };
}

function row(name: string, answers: readonly DriftWindow[], labels: readonly string[], pick: (a: DriftWindow) => FeatureDrift | null | undefined): HeatRow {
  const test = answers.map(pick).find((f) => f)?.test;
  return { label: name, sub: test ? testLabel(test) : "", cells: answers.map((a, i) => cell(name, pick(a), labels[i]!)) };
}

/** Above this many features, those that drifted in no window of the range are folded away. */
const FOLD_ABOVE = 20;

/** The newest window with traffic, if any. */
function latest(answers: readonly DriftWindow[]): DriftWindow | undefined {
  return [...answers].reverse().find((a) => a.count > 0);
}

/**
 * The features, worst first: drifted in the newest window with traffic, then by the number of
 * windows they drifted in, then by name.
 */
function worstFirst(names: readonly string[], answers: readonly DriftWindow[]): string[] {
  const now = latest(answers);
  // drifting now outweighs any number of windows
  const weight = new Map(names.map((name) => [name, answers.filter((a) => a.features[name]?.drifted).length + (now?.features[name]?.drifted ? answers.length : 0)]));
  return [...names].sort((a, b) => weight.get(b)! - weight.get(a)! || a.localeCompare(b));
}

/** "3 of 300 features drifted in the latest window: a, b, c", naming the first ten. */
function summary(ordered: readonly string[], answers: readonly DriftWindow[]): HTMLElement {
  const now = latest(answers);
  const drifted = ordered.filter((name) => now?.features[name]?.drifted);
  const rows = h("span", { class: "muted" }, ` · ${count(answers.reduce((a, x) => a + x.count, 0))} rows`);
  if (drifted.length === 0) return h("p", { class: "summary" }, "No feature drifted in the latest window.", rows);
  return h("p", { class: "summary summary-bad" }, `${drifted.length} of ${ordered.length} features drifted in the latest window: ${firstNames(drifted)}`, rows);
}

/**
 * Drift per feature × window as a heatmap of each feature's test score (coloured by verdict),
 * the dataset's drifted share per window, and prediction drift — for one version, role and
 * segment, from `GET /v1/drift/series` (six windows a request, the requests sent together).
 *
 * @param ctx - the app's context
 * @param body - where to render
 * @param sel - version, role, segment and windows
 */
export async function renderDrift(ctx: ViewContext, body: HTMLElement, sel: Selection): Promise<void> {
  const answers = await ctx.api.driftSeries(sel, sel.windows);
  if (answers.every((a) => a.count === 0)) return replace(body, note("No traffic in this range."));
  const labels = windowLabels(sel.windows);
  const names = worstFirst(Object.keys(answers[0]!.features), answers);
  const heat = (shown: readonly string[]) =>
    heatmap(
      "Test score per feature and window, worst first; red cells drifted",
      labels,
      shown.map((name) => row(name, answers, labels, (a) => a.features[name])),
    );
  // a wide model: the features that drifted in no window wait behind a toggle, kept open across refreshes
  const steady = names.length > FOLD_ABOVE ? names.filter((name) => !answers.some((a) => a.features[name]?.drifted)) : [];
  const open = body.querySelector<HTMLDetailsElement>("details.steady")?.open ?? false;
  replace(
    body,
    summary(names, answers),
    steady.length < names.length ? heat(names.slice(0, names.length - steady.length)) : null,
    steady.length ? h("details", { class: "steady", open }, h("summary", {}, `${steady.length} features that drifted in no window of this range`), heat(steady)) : null,
    answers[0]!.prediction ? heatmap("Prediction drift per window", labels, [row("prediction", answers, labels, (a) => a.prediction)]) : null,
    barChart({
      title: `Share of drifted features per window (dataset drift at ${percent(DATASET_SHARE, 0)})`,
      labels,
      series: [{ name: "drifted share", values: answers.map((a) => (a.count > 0 ? a.dataset.drifted_share : null)), className: "s-share" }],
      format: (x) => percent(x, 0),
      threshold: DATASET_SHARE,
      max: 1,
      barClass: (_, i) => (answers[i]!.dataset.drifted ? "bar-drifted" : ""),
    }),
  );
  // a heatmap wider than the screen (a phone) opens on its newest windows
  for (const wrap of body.querySelectorAll(".heatmap-wrap")) wrap.scrollLeft = wrap.scrollWidth;
}
