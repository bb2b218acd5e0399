import type { Api } from "../api.ts";
import { h, note, replace } from "../dom.ts";
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

/**
 * Waits for a panel's render. When it fails while the panel still says "Loading…", the panel
 * says why instead ("Could not load: …"), so none loads for ever; a panel that showed something
 * keeps it. The error goes on (to the banner).
 *
 * @param body - the panel's body
 * @param render - its render, under way
 */
export async function loadInto(body: HTMLElement, render: Promise<unknown>): Promise<void> {
  try {
    await render;
  } catch (err) {
    if (body.querySelector(".note-loading")) replace(body, note(`Could not load: ${err instanceof Error ? err.message : String(err)}`, "error"));
    throw err;
  }
}

/**
 * Waits for every one of `renders`, then rejects with the first failure if any: a refresh that
 * failed ends only once none of its panels is still being drawn (a late one must not overwrite the
 * next refresh's).
 *
 * @param renders - the panels' renders, under way
 */
export async function allDrawn(renders: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(renders)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
