// The one DOM helper: elements from a tag, attributes and children.

/** What may be a child: nodes, text, nothing (skipped), or lists of these, nested. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
/** Attributes: `on…` functions become listeners, `true` an empty attribute, false/undefined none. */
export type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/**
 * Sets attributes and listeners and appends children (nested lists flattened).
 *
 * @param el - an HTML or SVG element
 * @param attrs - attributes and `on…` listeners
 * @param children - nodes and text
 */
export function fill<E extends Element>(el: E, attrs: Attrs, children: readonly Child[]): E {
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) fill(el, {}, child);
    else el.append(typeof child === "number" ? String(child) : (child as Node | string));
  }
  return el;
}

/**
 * An HTML element.
 *
 * @example
 * h("button", { type: "button", onclick: save }, "Save")
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), attrs, children);
}

/**
 * Replaces an element's children. Keyboard focus inside stays on the control of the same kind
 * and text in the new content (a refresh rebuilds the buttons a user may have tabbed to).
 *
 * @param el - the container
 * @param children - the new content
 */
export function replace(el: Element, ...children: Child[]): void {
  const focused = document.activeElement;
  const kept = focused instanceof HTMLElement && focused !== el && el.contains(focused) ? [focused.tagName, focused.textContent] : undefined;
  el.replaceChildren();
  fill(el, {}, children);
  if (kept) [...el.querySelectorAll<HTMLElement>(kept[0]!)].find((e) => e.textContent === kept[1])?.focus();
}

/** A short note standing in for content: loading, empty, or failed. */
export function note(text: string, kind: "loading" | "empty" | "error" = "empty"): HTMLElement {
  return h("p", { class: `note note-${kind}`, role: kind === "error" ? "alert" : undefined }, text);
}

/**
 * A table in its scrolling wrapper: a header row of column names, then `rows`.
 *
 * @param head - the column names
 * @param rows - the body's rows (`tr` elements)
 * @param className - the table's class (`table` and any modifier)
 */
export function table(head: readonly string[], rows: readonly Child[], className = "table"): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: className },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head.map((x) => h("th", { scope: "col" }, x)),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
