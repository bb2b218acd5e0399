import { describeShadow } from "../../protocol/shadow-text.ts";
import { liveVersions } from "../../protocol/live-versions.ts";
import { h, replace } from "../dom.ts";
import { ApiError } from "../api.ts";
import { when } from "../format.ts";
import type { ModelDetail, Rollout, RolloutChange } from "../types.ts";
import type { ViewContext } from "./context.ts";
import { ask, numberField, versionField } from "./dialog.ts";
import { canaryText, shadowText } from "./rollout-text.ts";

/** One rollout button: its label, whether it applies now, and what it asks and does. */
interface Action {
  label: string;
  enabled: boolean;
  run(): Promise<void>;
}

function actions(ctx: ViewContext, model: ModelDetail, r: Rollout): Action[] {
  const others = model.versions.map((v) => v.version).filter((v) => v !== r.stable);
  const latest = others[others.length - 1] ?? r.stable;
  // each change applies to the rollout shown (r.configVersion) or, if it changed meanwhile, not at all
  const change = (c: RolloutChange) => ctx.api.setRollout(model, c, r.configVersion);
  return [
    {
      label: "Set canary…",
      enabled: others.length > 0,
      async run() {
        const form = await ask("Set canary", `Send a share of clients to another version; the rest stay on v${r.stable}.`, "Set canary", [
          versionField(others, r.canary?.version ?? latest),
          numberField("percent of clients", "percent", r.canary?.percent ?? 10, { min: 0, max: 100, step: 0.01 }),
        ]);
        if (form) await change({ canary: { version: Number(form.get("version")), percent: Number(form.get("percent")) } });
      },
    },
    {
      label: "Promote canary",
      enabled: r.canary !== null,
      async run() {
        const v = r.canary!.version;
        if (await ask("Promote canary", `Make v${v} the stable version for every client (now v${r.stable}).`, `Promote v${v}`)) await change({ stable: v });
      },
    },
    {
      label: "Set shadow…",
      enabled: others.length > 0,
      async run() {
        const form = await ask("Set shadow", "Clients run this version beside the live one on sampled rows; apps only see the live output.", "Set shadow", [
          versionField(others, r.shadow?.version ?? latest),
          numberField("share of rows sampled", "sampleRate", r.shadow?.sampleRate ?? 0.1, { min: 0.001, max: 1, step: 0.001 }),
        ]);
        if (form) await change({ shadow: { version: Number(form.get("version")), sampleRate: Number(form.get("sampleRate")) } });
      },
    },
    {
      label: "End shadow",
      enabled: r.shadow !== null,
      async run() {
        if (await ask("End shadow", `Stop running v${r.shadow!.version} in shadow.`, "End shadow")) await change({ shadow: null });
      },
    },
    {
      label: "Roll back",
      enabled: model.rollbackTo !== null,
      async run() {
        const what = r.canary
          ? `Abort the canary of v${r.canary.version}: every client returns to v${r.stable}.`
          : `Return every client from v${r.stable} to v${model.rollbackTo}, the previous stable version.`;
        if (await ask("Roll back", what, "Roll back")) await ctx.api.rollback(model, r.configVersion);
      },
    },
  ];
}

/** How a shadow agreed with one live version over the range shown. */
interface ShadowAgreement {
  /** The live version the shadow ran beside. */
  beside: number;
  /** {@link describeShadow}'s line. */
  text: string;
}

function stateList(r: Rollout, agreements: readonly ShadowAgreement[]): HTMLElement {
  const item = (term: string, value: string) => [h("dt", {}, term), h("dd", { "data-rollout": term }, value)];
  return h(
    "dl",
    { class: "rollout" },
    item("stable", `v${r.stable}`),
    item("canary", canaryText(r)),
    item("shadow", shadowText(r)),
    agreements.map((a) => item(`agreement with v${a.beside}`, a.text)),
    item("config version", String(r.configVersion)),
    item("changed", when(r.updatedAt)),
  );
}

/**
 * How the shadow, if one runs, agreed with each live version (stable, canary) over `range`:
 * `shadow` of `GET /v1/stats?role=shadow`.
 *
 * @param ctx - the app's context
 * @param model - the model as `GET /v1/models/:model` answers
 * @param range - the range shown
 */
export async function shadowAgreements(ctx: ViewContext, model: ModelDetail, range: { from: number; to: number }): Promise<ShadowAgreement[]> {
  const r = model.rollout;
  if (!r?.shadow) return [];
  const shadow = r.shadow.version;
  const live = liveVersions(r).filter((v) => v !== shadow);
  return Promise.all(
    live.map(async (beside) => {
      const stats = await ctx.api.stats({ model, version: beside, role: "shadow", ...range });
      return { beside, text: describeShadow(stats.shadow[String(shadow)], stats.baseline?.kind === "regression") };
    }),
  );
}

/**
 * Shows an action's error. When the rollout had changed since the page showed it (412: another
 * operator, the guardrail), says so and shows the current rollout.
 */
function showFailure(ctx: ViewContext, err: unknown, shown: Rollout): void {
  if (!(err instanceof ApiError && err.status === 412)) return ctx.fail(err);
  ctx.fail(new ApiError(412, err.code, `the rollout changed since this page showed config version ${shown.configVersion}, so nothing was changed; here is the current one`, err.role, err.method));
  void ctx.refresh();
}

/**
 * Renders the rollout state and its buttons into `body`. Without an admin key the buttons are
 * shown disabled; each asks for confirmation, applies to the rollout shown only, shows the API's
 * error on failure, and refreshes the page after (after a failure, when the rollout had changed).
 *
 * @param ctx - the app's context
 * @param body - where to render
 * @param model - the model as `GET /v1/models/:model` answers
 * @param agreements - the shadow's agreement with each live version ({@link shadowAgreements})
 */
export function renderRollout(ctx: ViewContext, body: HTMLElement, model: ModelDetail, agreements: readonly ShadowAgreement[]): void {
  const r = model.rollout;
  if (!r) return replace(body, h("p", { class: "note" }, "No rollout yet."));
  const buttons = actions(ctx, model, r).map((a) =>
    h(
      "button",
      {
        type: "button",
        disabled: !ctx.api.canAdmin || !a.enabled,
        title: ctx.api.canAdmin ? undefined : "needs an admin key (Unlock rollout in the header)",
        onclick: () => a.run().then(ctx.refresh, (err) => showFailure(ctx, err, r)),
      },
      a.label,
    ),
  );
  replace(body, stateList(r, agreements), h("div", { class: "actions", role: "group", "aria-label": "rollout actions" }, buttons));
}
