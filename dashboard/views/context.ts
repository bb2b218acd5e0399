import type { Api } from "../api.ts";
import { h } from "../dom.ts";
import type { RangePreset } from "../windows.ts";

/** What every view gets from the app. */
export interface ViewContext {
  api: Api;
  /** The range chosen in the header. */
  preset(): RangePreset;
  /** Shows an error in the banner (401 of the read key signs out). */
  fail(err: unknown): void;
  /**
   * Re-reads everything the current view shows, one refresh at a time: asked while one runs, it
   * runs again after it (errors go to {@link ViewContext.fail}).
   */
  refresh(): Promise<void>;
}

/** A mounted view: its element, and how to bring it up to date (rejects on API errors). */
export interface View {
  element: HTMLElement;
  refresh(): Promise<void>;
}

/**
 * A titled section of a page; its `body` is what refreshes replace.
 *
 * @param title - the heading
 * @param tools - controls shown beside the heading
 */
export function panel(title: string, ...tools: HTMLElement[]): { element: HTMLElement; body: HTMLElement } {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const body = h("div", { class: "panel-body", "aria-live": "polite" });
  const element = h("section", { class: "panel", "aria-labelledby": id }, h("div", { class: "panel-head" }, h("h2", { id }, title), tools.length ? h("div", { class: "tools" }, tools) : null), body);
  return { element, body };
}

/**
 * A labelled `<select>`.
 *
 * @param label - visible label
 * @param options - value and text of each option
 * @param value - the selected value
 * @param onchange - called with the new value
 */
export function select(label: string, options: readonly [string, string][], value: string, onchange: (value: string) => void): HTMLLabelElement {
  const el = h(
    "select",
    { onchange: () => onchange(el.value) },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
  return h("label", { class: "field" }, h("span", {}, label), el);
}
