import { modelName } from "../registry/model-key.ts";
import { iso } from "../time.ts";
import type { AlertRow } from "./store.ts";
import { webhookRefusal } from "./webhook-url.ts";

/** A webhook receiver gets this long to answer. */
const TIMEOUT_MS = 10_000;

/**
 * The public view of an alert, as the API lists it and webhooks carry it.
 *
 * @param a - the stored alert
 */
export function alertView(a: AlertRow) {
  return {
    id: a.id,
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
  };
}

/**
 * `text` as Slack's message formatting reads it literally: `&`, `<` and `>` escaped, the three
 * characters Slack asks to escape. An alert's message names what clients reported (a device
 * class, a backend), and in `<…>` Slack would make links and mentions of it (`<!channel>`).
 *
 * @param text - plain text
 * @example
 * slackEscape("<!channel>") // "&lt;!channel&gt;"
 */
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Posts an alert to a webhook as `{ text, alert }`; `text` makes it a valid Slack incoming
 * webhook message (the alert's message, {@link slackEscape}d; `alert` holds it as it is). Resolves to undefined when the receiver answered 2xx, else to why not.
 * The URL is checked again first (a configuration may predate the rule, or the deployment's
 * `WEBHOOK_ALLOW_PRIVATE` may have changed), and redirects are not followed: a public host
 * could otherwise send the POST on to a private one.
 *
 * @param url - the webhook
 * @param alert - the alert
 * @param allowPrivate - accept private and loopback hosts (see {@link webhookRefusal})
 */
export async function postWebhook(url: string, alert: AlertRow, allowPrivate: boolean): Promise<string | undefined> {
  const refusal = webhookRefusal(url, allowPrivate);
  if (refusal) return `not sent: ${refusal}`;
  const icon = alert.state === "firing" ? ":rotating_light:" : ":white_check_mark:";
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "driftline-collector" },
      body: JSON.stringify({ text: `${icon} ${slackEscape(alert.message)}`, alert: alertView(alert) }),
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (res.status >= 300 && res.status < 400) return `HTTP ${res.status}: redirects are not followed`;
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
