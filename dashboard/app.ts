// The dashboard: asks for a key, then shows the fleet (#/) or one model (#/model/<app>/<name>),
// refreshing every 15 s unless paused.
import { Api, ApiError } from "./api.ts";
import { h, replace } from "./dom.ts";
import { clock } from "./format.ts";
import { clearKeys, loadKeys, saveAdminKey, saveKeys } from "./keys.ts";
import { modelOfHash } from "./model-ref.ts";
import type { View, ViewContext } from "./views/context.ts";
import { select } from "./views/context.ts";
import { ask } from "./views/dialog.ts";
import { fleetView } from "./views/fleet.ts";
import { modelView } from "./views/model.ts";
import { signinView } from "./views/signin.ts";
import { PRESETS, chosenPreset, keepPreset } from "./windows.ts";

const REFRESH_MS = 15_000;

const main = document.getElementById("main")!;
const banner = document.getElementById("banner")!;
const toolbar = document.getElementById("toolbar")!;

let api: Api | null = null;
let view: View | null = null;
let preset = chosenPreset();
let paused = false;
/** The view whose refresh runs, if one does. */
let refreshing: View | null = null;
/** A refresh of the view shown was asked for while one ran: run another after it, so nothing shown is stale. */
let again = false;
let updated = h("span", { class: "muted", "aria-live": "polite" });
/** What the banner shows: a failed refresh (cleared by the next good one) or a failed action (kept until dismissed). */
let bannerFrom: "refresh" | "action" | null = null;

function showBanner(text: string | null, from: "refresh" | "action" = "refresh"): void {
  bannerFrom = text === null ? null : from;
  banner.hidden = text === null;
  banner.title = from === "action" ? "click to dismiss" : "";
  // a button too, so the keyboard dismisses it; its "×" is drawn by CSS, leaving the banner's text the message alone
  const dismiss = from === "action" && h("button", { type: "button", class: "banner-dismiss", "aria-label": "Dismiss" });
  replace(banner, text ?? "", dismiss);
}
banner.addEventListener("click", () => bannerFrom === "action" && showBanner(null));

/**
 * Leaves the view shown: its refresh, if one runs, shows nothing more, and its reads in flight
 * are abandoned, so the next view's refresh neither waits for them nor for a connection.
 */
function leaveView(): void {
  api?.abandonReads();
  view = null;
}

/** Forgets the keys and asks again, saying why when a key was refused. */
function signOut(message?: string): void {
  leaveView();
  clearKeys();
  api = null;
  toolbar.hidden = true;
  showBanner(null);
  replace(
    main,
    signinView((read, admin) => void signIn(read, admin), message),
  );
  document.getElementById("read-key")?.focus();
}

/** A read the collector refused for the key itself: unknown (401), or of a role that reads nothing here (403, an ingest key). */
function keyRefused(err: unknown): err is ApiError {
  return err instanceof ApiError && err.role === "read" && (err.status === 401 || err.status === 403);
}

/** A call the collector refused for the admin key itself: unknown or revoked (401). */
function adminKeyRefused(err: unknown): err is ApiError {
  return err instanceof ApiError && err.role === "admin" && err.status === 401;
}

/** Forgets an admin key the collector refused and reads on with the read key alone, saying why. */
function lockRollout(err: Error): void {
  saveAdminKey("");
  start();
  showBanner(`The collector refused the admin key (${err.message}): the rollout buttons are locked; Unlock rollout asks for another.`, "action");
}

function fail(err: unknown): void {
  if (keyRefused(err)) return signOut(`The collector refused the key: ${err.message}. Enter a read key.`);
  // revoked while the page is open: every read with it (the alert configuration) would fail
  if (adminKeyRefused(err)) return lockRollout(err);
  // a read with the admin key (the alert configuration) that fails is a failed refresh, cleared by the next good one
  const action = err instanceof ApiError && err.change;
  // A refresh still running when an action fails must not wipe the action's error when it ends.
  showBanner((action ? "Change failed: " : "") + (err instanceof Error ? err.message : String(err)), action ? "action" : "refresh");
}

/**
 * Re-reads the view shown, one refresh at a time: asked while its refresh runs, it runs again
 * after it. A view left meanwhile shows nothing of its refresh, errors included.
 */
async function refresh(): Promise<void> {
  const shown = view;
  if (!shown) return;
  if (refreshing === shown) {
    again = true;
    return;
  }
  refreshing = shown;
  again = false;
  main.setAttribute("aria-busy", "true");
  try {
    await shown.refresh();
    if (view !== shown) return;
    if (bannerFrom === "refresh") showBanner(null);
    updated.textContent = `updated ${clock(Date.now())}`;
  } catch (err) {
    if (view === shown) fail(err);
  } finally {
    if (refreshing === shown) {
      refreshing = null;
      main.removeAttribute("aria-busy");
      if (again) void refresh();
    }
  }
}

const ctx: ViewContext = {
  get api() {
    return api!;
  },
  preset: () => preset,
  fail,
  refresh,
};

/** Shows the view the URL names. */
function route(): void {
  if (!api) return;
  leaveView();
  const model = modelOfHash(location.hash);
  view = model ? modelView(ctx, model) : fleetView(ctx);
  replace(main, view.element);
  void refresh();
}

/** Why a key could not unlock the buttons: the collector refused it (4xx), or it could not be asked (no answer, 5xx). */
function unlockFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const refusal = err instanceof ApiError && err.status >= 400 && err.status < 500;
  return refusal ? `the collector refused the admin key (${message})` : `the admin key could not be checked (${message}); try again`;
}

async function unlock(): Promise<void> {
  const input = h("input", { type: "password", name: "admin", autocomplete: "off", required: true });
  const form = await ask("Unlock rollout", "An admin key enables canary, promote, shadow and rollback. It is kept in this browser until you sign out.", "Unlock", [
    h("label", { class: "field" }, h("span", {}, "admin key"), input),
  ]);
  if (!form) return;
  const admin = String(form.get("admin")).trim();
  // a key the collector refuses never unlocks the buttons
  const refused = await new Api(loadKeys().read!, admin).checkAdmin().then(
    () => null,
    (err: unknown) => err,
  );
  if (refused) return showBanner(`Not unlocked: ${unlockFailure(refused)}`, "action");
  saveAdminKey(admin);
  start();
}

function renderToolbar(): void {
  const pause = h(
    "button",
    {
      type: "button",
      "aria-pressed": String(paused),
      onclick: () => {
        paused = !paused;
        renderToolbar();
      },
    },
    paused ? "Resume auto-refresh" : "Pause auto-refresh",
  );
  updated = h("span", { class: "muted", "aria-live": "polite" }, updated.textContent);
  replace(
    toolbar,
    select(
      "range",
      PRESETS.map((p) => [p.id, p.label]),
      preset.id,
      (id) => {
        preset = PRESETS.find((p) => p.id === id)!;
        keepPreset(preset);
        void refresh();
      },
    ),
    pause,
    h("button", { type: "button", onclick: () => void refresh() }, "Refresh"),
    updated,
    api?.canAdmin ? h("span", { class: "badge badge-admin" }, "admin") : h("button", { type: "button", onclick: () => void unlock() }, "Unlock rollout"),
    h("button", { type: "button", onclick: () => signOut() }, "Sign out"),
  );
  toolbar.hidden = false;
}

function start(): void {
  const keys = loadKeys();
  if (!keys.read) return signOut();
  leaveView();
  api = new Api(keys.read, keys.admin);
  renderToolbar();
  route();
}

/**
 * Signs in with the form's keys. The admin key is checked as Unlock rollout checks it, and not
 * kept when the collector refuses it (401, 403); a check the collector could not answer (the
 * network) keeps it: a later refusal would still lock the rollout again.
 */
async function signIn(read: string, admin: string): Promise<void> {
  const refused = admin
    ? await new Api(read, admin).checkAdmin().then(
        () => null,
        (err: unknown) => (err instanceof ApiError && (err.status === 401 || err.status === 403) ? err : null),
      )
    : null;
  saveKeys(read, refused ? "" : admin);
  if (refused) lockRollout(refused);
  else start();
}

window.addEventListener("hashchange", route);
setInterval(() => {
  if (!paused && !document.hidden && !document.querySelector("dialog[open]")) void refresh();
}, REFRESH_MS);
start();
