import { h } from "../dom.ts";

/**
 * The key prompt: a read key (required) and an admin key (optional, unlocks the rollout
 * buttons). Calls `submit` with the trimmed keys.
 *
 * @param submit - what to do with the keys
 * @param message - why the prompt is shown again (a refused key), if it is
 */
export function signinView(submit: (read: string, admin: string) => void, message?: string): HTMLElement {
  const read = h("input", { id: "read-key", name: "read", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const admin = h("input", { id: "admin-key", name: "admin", type: "password", autocomplete: "off", spellcheck: "false" });
  const form = h(
    "form",
    {
      class: "signin",
      onsubmit: (e: Event) => {
        e.preventDefault();
        submit(read.value.trim(), admin.value.trim());
      },
    },
    h("h1", {}, "Sign in to the fleet"),
    message ? h("p", { class: "note note-error", role: "alert" }, message) : null,
    h("label", { for: "read-key" }, "Read key"),
    read,
    h("p", { class: "hint" }, "A read_… key (an admin key works too). It stays in this browser until you sign out."),
    h("label", { for: "admin-key" }, "Admin key (optional)"),
    admin,
    h("p", { class: "hint" }, "An adm_… key unlocks the rollout buttons: canary, promote, shadow, rollback."),
    h("button", { class: "primary", type: "submit" }, "Sign in"),
  );
  return h("div", { class: "page" }, form);
}
