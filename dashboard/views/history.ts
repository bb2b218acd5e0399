import { auditChange } from "../../protocol/audit-text.ts";
import { formatBytes } from "../../protocol/byte-size.ts";
import { h, note, replace, table } from "../dom.ts";
import { count, when } from "../format.ts";
import type { ModelDetail, Rollout } from "../types.ts";
import { rolloutText } from "./rollout-text.ts";

/** What a version does in the rollout now. */
function roleOf(r: Rollout | null, version: number): string {
  if (!r) return "";
  if (r.stable === version) return "stable";
  if (r.canary?.version === version) return "canary";
  return r.shadow?.version === version ? "shadow" : "";
}

/**
 * The versions table (newest first: number, role, published, publisher, size, reference rows,
 * sha256) and the audit log (newest first: when, action, key, before → after).
 *
 * @param versionsBody - where the versions go
 * @param auditBody - where the audit log goes
 * @param model - the model as `GET /v1/models/:model` answers
 */
export function renderHistory(versionsBody: HTMLElement, auditBody: HTMLElement, model: ModelDetail): void {
  replace(
    versionsBody,
    table(
      ["version", "role", "published", "publisher", "size", "reference rows", "sha256"],
      [...model.versions].reverse().map((v) => {
        const role = roleOf(model.rollout, v.version);
        return h(
          "tr",
          {},
          h("th", { scope: "row" }, `v${v.version}`),
          h("td", {}, role ? h("span", { class: `badge badge-${role}` }, role) : ""),
          h("td", {}, when(v.createdAt)),
          h("td", {}, v.publisher),
          h("td", { class: "num" }, formatBytes(v.size)),
          h("td", { class: "num" }, count(v.profileRows)),
          h("td", { class: "mono", title: v.sha256 }, v.sha256.slice(0, 12)),
        );
      }),
    ),
  );
  replace(
    auditBody,
    model.audit.length === 0
      ? note("No changes yet.")
      : table(
          ["when", "action", "key", "change"],
          model.audit.map((a) => h("tr", {}, h("td", {}, when(a.at)), h("td", {}, a.action), h("td", { class: "mono" }, a.keyId), h("td", {}, auditChange(a, rolloutText)))),
        ),
  );
}
