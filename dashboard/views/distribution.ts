import { barChart } from "../charts/bar-chart.ts";
import { h, note, replace } from "../dom.ts";
import { verdictBasis } from "../drift-score.ts";
import { count, num, percent } from "../format.ts";
import type { Bins, DriftAnswer, FeatureDrift } from "../types.ts";
import { span } from "../windows.ts";
import type { ViewContext } from "./context.ts";
import { select } from "./context.ts";
import { type Selection, windowQuery } from "./selection.ts";

/** The prediction's entry in the feature picker (feature names are never empty). */
const PREDICTION = "";

/** Labels of a numeric feature's reference bins: "≤ 1.2", "1.2 – 3.4", …, "> 9.8". */
function binLabels(bins: Bins): string[] {
  if (bins.labels) return bins.labels;
  const e = bins.edges ?? [];
  return bins.reference.map((_, i) => (i === 0 ? `≤ ${num(e[0])}` : i === e.length ? `> ${num(e[i - 1])}` : `${num(e[i - 1])} – ${num(e[i])}`));
}

function summary(name: string, f: FeatureDrift): HTMLElement {
  const unseen = f.metrics.unseen_share;
  return h(
    "p",
    { class: "summary" },
    h("span", { class: f.drifted ? "badge badge-bad" : "badge badge-good" }, f.drifted ? "drifted" : "no drift"),
    ` ${name}: ${verdictBasis(f)}, over ${count(f.count)} values · PSI ${num(f.metrics.psi)} · JS ${num(f.metrics.js)}`,
    unseen === undefined ? "" : ` · unseen categories ${percent(unseen)}`,
  );
}

function chartOf(name: string, f: FeatureDrift | null | undefined): HTMLElement {
  if (!f?.bins || f.count === 0) return note(`No traffic for ${name} in this range.`);
  const numeric = f.bins.edges !== undefined;
  return h(
    "div",
    { "data-distribution": name },
    summary(name, f),
    barChart({
      title: `${name}: reference vs current share per ${numeric ? "reference decile bin" : "category"}`,
      labels: binLabels(f.bins),
      series: [
        { name: "reference", values: f.bins.reference, className: "s-reference" },
        { name: "current", values: f.bins.current, className: "s-current" },
      ],
      format: (x) => percent(x, 0),
    }),
  );
}

/**
 * Reference vs current distribution of one feature (or the prediction) over the whole range:
 * shares per reference bin (numeric) or category plus `other` (unseen), from
 * `GET /v1/drift?detail=bins`. Picking another feature re-draws from the same answer.
 */
export function distributionSection(ctx: ViewContext): { tools: HTMLElement; render(body: HTMLElement, sel: Selection): Promise<void> } {
  let chosen: string | null = null;
  let last: { body: HTMLElement; answer: DriftAnswer } | null = null;
  let shown = "";
  const tools = h("div");
  const draw = () => {
    if (!last) return;
    const { body, answer } = last;
    const names = Object.keys(answer.features).sort();
    if (chosen === null || (chosen !== PREDICTION && !(chosen in answer.features))) chosen = names[0] ?? PREDICTION;
    const options: [string, string][] = names.map((n) => [n, n]);
    if (answer.prediction) options.push([PREDICTION, "prediction"]);
    // Rebuilt only when the choices change, so a refresh never steals the picker's focus.
    const key = JSON.stringify([options, chosen]);
    if (key !== shown) {
      shown = key;
      replace(
        tools,
        select("feature", options, chosen, (v) => {
          chosen = v;
          shown = JSON.stringify([options, v]);
          draw();
        }),
      );
    }
    replace(body, chosen === PREDICTION ? chartOf("prediction", answer.prediction) : chartOf(chosen, answer.features[chosen]));
  };
  return {
    tools,
    async render(body, sel) {
      last = { body, answer: await ctx.api.drift(windowQuery(sel, span(sel.windows)), true) };
      draw();
    },
  };
}
