import { type Attrs, h } from "../dom.ts";

/** One cell: its text, a longer tooltip, and the state that colours it. */
export interface HeatCell {
  text: string;
  title: string;
  state: "drifted" | "ok" | "none";
  attrs?: Attrs;
}

/** One row: a labelled line of cells, one per column. */
export interface HeatRow {
  label: string;
  /** A second line under the label (e.g. the test). */
  sub?: string;
  cells: HeatCell[];
}

/** A cell's verdict in words, beside its colour: read by screen readers, kept when copied. */
const VERDICTS: Record<HeatCell["state"], string> = { drifted: "drifted", ok: "no drift", none: "no data" };

/**
 * A heatmap as an HTML table (readable by screen readers, copyable): rows × columns of scores,
 * coloured by verdict — drifted, not drifted, or no data — and each verdict in words too, hidden
 * from sight (the score's colour shows it; a tooltip is out of reach of keyboard and screen reader).
 *
 * @param caption - what the table shows
 * @param columns - column headings (window start times)
 * @param rows - the rows
 */
export function heatmap(caption: string, columns: readonly string[], rows: readonly HeatRow[]): HTMLElement {
  return h(
    "div",
    { class: "heatmap-wrap" },
    h(
      "table",
      { class: "heatmap" },
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "feature"),
          columns.map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, row.label, row.sub ? h("small", {}, row.sub) : null),
            row.cells.map((cell) => h("td", { class: `cell-${cell.state}`, title: cell.title, ...cell.attrs }, cell.text, h("span", { class: "visually-hidden" }, ` ${VERDICTS[cell.state]}`))),
          ),
        ),
      ),
    ),
  );
}
