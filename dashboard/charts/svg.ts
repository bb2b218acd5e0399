// What every chart shares: SVG elements, the plot frame, scales, axes and the legend.
import { type Attrs, type Child, fill, h } from "../dom.ts";

const NS = "http://www.w3.org/2000/svg";

/** An SVG element (see `h` for the arguments). */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  return fill(document.createElementNS(NS, tag), attrs, children);
}

/** A plot area inside a fixed viewBox; the SVG scales to its container's width. */
export const FRAME = { width: 560, height: 190, left: 52, right: 12, top: 10, bottom: 26 };
const PLOT_W = FRAME.width - FRAME.left - FRAME.right;
const PLOT_H = FRAME.height - FRAME.top - FRAME.bottom;

/** A data series: one value per label (null: no data there). */
export interface Series {
  /** Shown in the legend; empty for a series that continues another (the second edge of a band). */
  name: string;
  values: (number | null)[];
  /** CSS class giving the series its colour (see styles.css `.s-*`). */
  className: string;
}

/** Ticks on the y axis. */
const TICKS = 4;

/** A round upper bound ≥ max (1, 2, 2.5 or 5 × 10^k), so tick labels read well. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max / TICKS));
  const nice = [1, 2, 2.5, 5, 10].find((m) => m * step * TICKS >= max)!;
  return nice * step * TICKS;
}

/** The y pixel of a value on a 0..max axis. */
export function yOf(value: number, max: number): number {
  return FRAME.top + PLOT_H - (Math.min(value, max) / max) * PLOT_H;
}

/** The x pixel of the centre of slot `i` of `n` equal slots, and the slot width. */
export function slot(i: number, n: number): { x: number; width: number } {
  const width = PLOT_W / n;
  return { x: FRAME.left + width * (i + 0.5), width };
}

/** Horizontal grid lines with labels, 0..max. */
function yAxis(max: number, format: (x: number) => string): SVGGElement {
  const ticks = Array.from({ length: TICKS + 1 }, (_, i) => (max * i) / TICKS);
  return s(
    "g",
    { class: "axis", "aria-hidden": "true" },
    ticks.map((t) => {
      const y = yOf(t, max);
      return [s("line", { x1: FRAME.left, x2: FRAME.width - FRAME.right, y1: y, y2: y, class: "grid" }), s("text", { x: FRAME.left - 6, y: y + 4, "text-anchor": "end" }, format(t))];
    }),
  );
}

/** Characters of an x label shown (a longer category name is cut, with "…"). */
const LABEL_CHARS = 14;
/** Width of one character of axis text (10 px, styles.css `.chart .axis text`), about. */
const CHAR_WIDTH = 6;

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/** The characters of a label as a reader counts them: an emoji, a flag or a letter with its accents is one, never split. */
function charactersOf(label: string): string[] {
  return Array.from(graphemes.segment(label), (g) => g.segment);
}

/** The x labels: at most 8, and only as many as fit side by side without overlapping. */
function xAxis(labels: readonly string[]): SVGGElement {
  const cut = labels.map(charactersOf).map((chars) => (chars.length > LABEL_CHARS ? [...chars.slice(0, LABEL_CHARS - 1), "…"] : chars));
  const shown = cut.map((chars) => chars.join(""));
  const widest = Math.max(0, ...cut.map((chars) => chars.length)) * CHAR_WIDTH + 8;
  const every = Math.max(Math.ceil(labels.length / 8), Math.ceil((widest * labels.length) / PLOT_W));
  return s(
    "g",
    { class: "axis", "aria-hidden": "true" },
    // counted from the last (the newest window), which is always labelled
    shown.map((label, i) => ((labels.length - 1 - i) % every === 0 ? s("text", { x: slot(i, labels.length).x, y: FRAME.height - 8, "text-anchor": "middle" }, label) : null)),
  );
}

/**
 * A chart: a caption, the SVG (an image with a text alternative) with axes around `marks`,
 * and an HTML legend of the series.
 *
 * @param title - what the chart shows; also its accessible name
 * @param labels - the x slots
 * @param max - top of the y axis
 * @param format - y tick labels
 * @param series - the series, for the legend (a series without a name has no entry)
 * @param marks - the plotted shapes
 */
export function chart(title: string, labels: readonly string[], max: number, format: (x: number) => string, series: readonly Series[], marks: Child[]): HTMLElement {
  const svg = s("svg", { viewBox: `0 0 ${FRAME.width} ${FRAME.height}`, role: "img", "aria-label": title, class: "chart" }, s("title", {}, title), yAxis(max, format), xAxis(labels), marks);
  return h(
    "figure",
    { class: "figure" },
    h("figcaption", {}, title),
    // on a phone the chart keeps a readable width and scrolls, opening on its last slots
    h("div", { class: "chart-scroll" }, svg),
    series.length > 1
      ? h(
          "ul",
          { class: "legend" },
          series.filter((x) => x.name).map((x) => h("li", {}, h("span", { class: `swatch ${x.className}`, "aria-hidden": "true" }), x.name)),
        )
      : null,
  );
}

/** The largest value of some series (0 when none). */
export function maxOf(series: readonly Series[], stacked = false): number {
  let max = 0;
  const n = series[0]?.values.length ?? 0;
  for (let i = 0; i < n; i++) {
    const values = series.map((x) => x.values[i] ?? 0);
    max = Math.max(max, stacked ? values.reduce((a, b) => a + b, 0) : Math.max(...values));
  }
  return max;
}
