import { FRAME, type Series, chart, maxOf, niceMax, s, slot, yOf } from "./svg.ts";

/** Options of {@link barChart}. */
export interface BarChartOptions {
  title: string;
  labels: readonly string[];
  series: readonly Series[];
  format: (x: number) => string;
  /** Stack the series in each slot instead of placing them side by side. */
  stacked?: boolean;
  /** A dashed line across the plot, e.g. the dataset-drift share. */
  threshold?: number;
  /** An extra class for one bar (e.g. marking drifted windows). */
  barClass?: (series: number, slot: number) => string;
  /** Top of the y axis when it is known (shares: 1). */
  max?: number;
}

/** Bars per slot, grouped side by side or stacked; each bar carries its value as a tooltip. */
export function barChart({ title, labels, series, format, stacked = false, threshold, barClass, max: fixedMax }: BarChartOptions): HTMLElement {
  const max = fixedMax ?? niceMax(maxOf(series, stacked));
  const bottom = yOf(0, max);
  const bars = labels.map((label, i) => {
    const { x, width } = slot(i, labels.length);
    const inner = width * 0.78;
    let base = 0;
    return series.map((ser, k) => {
      const v = ser.values[i];
      if (v === null || v === undefined || v <= 0) return null;
      const w = stacked ? inner : inner / series.length;
      const left = stacked ? x - inner / 2 : x - inner / 2 + k * w;
      const y0 = stacked ? yOf(base, max) : bottom;
      base += v;
      const y1 = yOf(stacked ? base : v, max);
      return s(
        "rect",
        { x: left.toFixed(1), y: y1.toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: Math.max(0.5, y0 - y1).toFixed(1), class: `bar ${ser.className} ${barClass?.(k, i) ?? ""}` },
        s("title", {}, `${ser.name} ${label}: ${format(v)}`),
      );
    });
  });
  const line = threshold === undefined ? null : s("line", { class: "threshold", x1: FRAME.left, x2: FRAME.width - FRAME.right, y1: yOf(threshold, max), y2: yOf(threshold, max) });
  return chart(title, labels, max, format, series, [bars, line]);
}
