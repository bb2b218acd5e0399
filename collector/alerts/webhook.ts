import { firstNames } from "../../protocol/first-names.ts";
import { modelName } from "../registry/model-key.ts";
import { iso } from "../time.ts";
import { type AlertRow, type AppAlertRow, MAX_ATTEMPTS } from "./store.ts";
import { webhookRefusal } from "./webhook-url.ts";

/** A webhook receiver gets this long to answer. */
const TIMEOUT_MS = 10_000;

/**
 * The public view of an alert, as the API lists it and webhooks carry it.
 *
 * @param a - the stored alert, with its model's app
 */
export function alertView(a: AppAlertRow) {
  return {
    id: a.id,
    app: a.app,
    model: modelName(a.model),
    version: a.version,
    kind: a.kind,
    subject: a.subject || null,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    window: { from: iso(a.windowFrom), to: iso(a.windowTo) },
    message: a.message,
    at: iso(a.at),
    deliveredAt: iso(a.deliveredAt),
    attempts: a.attempts,
    lastError: a.lastError,
    retryAt: a.deliveredAt === null && a.attempts < MAX_ATTEMPTS ? iso(a.retryAt) : null,
  };
}

/**
 * `text` as Slack's message formatting reads it literally, on one line: `&`, `<` and `>`
 * escaped, the three characters Slack asks to escape, and control characters and line
 * separators made spaces. An alert's message names what clients reported (a device class, a
 * backend): in `<…>` Slack would make links and mentions of it (`<!channel>`), and after a line
 * break a line that reads as another alert.
 *
 * @param text - plain text
 * @example
 * slackEscape("<!channel>") // "&lt;!channel&gt;"
 */
function slackEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\p{Cc}\u2028\u2029]/gu, " ");
}

/** Most alerts one post carries: a post's ids are one D1 statement's parameters (D1 binds at most 100). */
export const MAX_ALERTS_PER_POST = 50;

/**
 * The alerts to post, as posts: alerts of one version, kind and state that one evaluation made
 * (the same `at`) go together, at most {@link MAX_ALERTS_PER_POST} to a post, so a wide model
 * whose features drift at once posts once, not once per feature; the order is kept.
 *
 * @param pending - undelivered alerts, oldest first
 */
export function postGroups<A extends AlertRow>(pending: readonly A[]): A[][] {
  // the post each version, kind, state and evaluation is filling
  const open = new Map<string, A[]>();
  const posts: A[][] = [];
  for (const a of pending) {
    const key = `${a.version}|${a.kind}|${a.state}|${a.at}`;
    const post = open.get(key);
    if (post && post.length < MAX_ALERTS_PER_POST) post.push(a);
    else {
      posts.push([a]);
      open.set(key, posts.at(-1)!);
    }
  }
  return posts;
}

/**
 * The Slack text of one post: an alert's message, or for several alerts of one kind and state
 * a line that counts them and names the first ten subjects (each alert's own message is in the
 * post's `alerts`, the dashboard and `driftline alerts`).
 *
 * @param post - alerts of one version, kind, state and evaluation ({@link postGroups})
 */
export function postText(post: readonly AlertRow[]): string {
  const a = post[0]!;
  const icon = a.state === "firing" ? ":rotating_light:" : ":white_check_mark:";
  if (post.length === 1) return `${icon} ${slackEscape(a.message)}`;
  const state = a.state === "firing" ? "FIRING" : "resolved";
  const subjects = firstNames(post.map((x) => x.subject));
  const line = `[driftline] ${a.model} v${a.version}: ${a.kind.replaceAll("_", " ")} ${state} for ${post.length} subjects over ${iso(a.windowFrom)} – ${iso(a.windowTo)}: ${subjects} (each alert: the dashboard, driftline alerts)`;
  return `${icon} ${slackEscape(line)}`;
}

/**
 * Posts alerts to a webhook as `{ text, alert, alerts }`: `text` makes it a valid Slack incoming
 * webhook message ({@link postText}, {@link slackEscape}d), `alerts` holds each alert as the API
 * lists it ({@link alertView}: with its model's app) and `alert` the first. Resolves to undefined when the receiver answered 2xx, else to why not
 * (`HTTP 500`, `could not reach host: …`).
 * The URL is checked again first (a configuration may predate the rule, or the deployment's
 * `WEBHOOK_ALLOW_PRIVATE` may have changed), and redirects are not followed: a public host
 * could otherwise send the POST on to a private one.
 *
 * @param url - the webhook
 * @param post - the alerts of one post ({@link postGroups}), at least one
 * @param allowPrivate - accept private and loopback hosts (see {@link webhookRefusal})
 */
export async function postWebhook(url: string, post: readonly AppAlertRow[], allowPrivate: boolean): Promise<string | undefined> {
  const refusal = webhookRefusal(url, allowPrivate);
  if (refusal) return `not sent: ${refusal}`;
  try {
    const alerts = post.map(alertView);
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "driftline-collector" },
      body: JSON.stringify({ text: postText(post), alert: alerts[0], alerts }),
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (res.status >= 300 && res.status < 400) return `HTTP ${res.status}: redirects are not followed`;
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    // workerd says only "Network connection lost." or "internal error; reference = …"
    return `could not reach ${new URL(url).host}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
