import { type Series, chart, maxOf, niceMax, s, slot, yOf } from "./svg.ts";

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  title: string;
  labels: readonly string[];
  series: readonly Series[];
  format: (x: number) => string;
  /** The top of the y axis at least: charts shown side by side share one scale. */
  max?: number;
}

/**
 * Lines over time, one per series, broken where a value is null; each point carries its value
 * as a tooltip.
 */
export function lineChart({ title, labels, series, format, max: atLeast = 0 }: LineChartOptions): HTMLElement {
  const max = niceMax(Math.max(atLeast, maxOf(series)));
  const marks = series.map((x) => {
    const points = x.values.map((v, i) => (v === null ? null : { x: slot(i, labels.length).x, y: yOf(v, max), v, i }));
    let d = "";
    points.forEach((p, i) => {
      if (p) d += `${points[i - 1] ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`;
    });
    return s(
      "g",
      { class: `line ${x.className}` },
      s("path", { d }),
      points.map((p) => p && s("circle", { cx: p.x, cy: p.y, r: 2.5 }, s("title", {}, `${x.name} ${labels[p.i]}: ${format(p.v)}`))),
    );
  });
  return chart(title, labels, max, format, series, marks);
}
