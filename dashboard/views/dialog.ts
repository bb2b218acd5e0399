import { h } from "../dom.ts";

/**
 * A modal confirm dialog (native `<dialog>`, so focus and Escape work as users expect) with
 * optional form fields; Enter in a field confirms, as in any form. Resolves to the form's data
 * on confirm, null on cancel.
 *
 * @param title - the question
 * @param message - what will happen
 * @param confirmLabel - the confirm button's text
 * @param fields - form fields (labelled inputs)
 */
export function ask(title: string, message: string, confirmLabel: string, fields: HTMLElement[] = []): Promise<FormData | null> {
  // Cancel is no submit button: Enter in a field submits with the form's first one, which must be the confirm button
  const cancel = h("button", { type: "button", onclick: () => dialog.close("cancel") }, "Cancel");
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", {}, title),
    h("p", {}, message),
    fields,
    h("div", { class: "dialog-actions" }, cancel, h("button", { value: "confirm", class: "primary" }, confirmLabel)),
  );
  const dialog = h("dialog", { "aria-label": title }, form);
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm" ? new FormData(form) : null);
      dialog.remove();
    });
  });
}

/**
 * A labelled number input for a dialog.
 *
 * @param label - visible label
 * @param name - form field name
 * @param value - initial value
 * @param range - min, max and step
 */
export function numberField(label: string, name: string, value: number, range: { min: number; max: number; step: number }): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), h("input", { type: "number", name, value, required: true, ...range }));
}

/**
 * A labelled version picker for a dialog.
 *
 * @param versions - the versions offered (at least one)
 * @param value - the preselected one
 */
export function versionField(versions: readonly number[], value: number): HTMLElement {
  return h(
    "label",
    { class: "field" },
    h("span", {}, "version"),
    h(
      "select",
      { name: "version" },
      versions.map((v) => h("option", { value: v, selected: v === value }, `v${v}`)),
    ),
  );
}
