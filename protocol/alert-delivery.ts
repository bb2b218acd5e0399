// No zod here: the dashboard imports this (the type import is erased).
import type { Alert } from "./api.ts";

/**
 * Whether an alert reached the model's webhook, for the CLI and the dashboard: "delivered <at>",
 * "not delivered after 2 attempts: <why>; next try <at>" (or "; no more tries"), or why it was
 * not posted yet. Without a webhook alerts
 * are recorded only; a webhook set later receives those still undelivered.
 *
 * @param alert - the alert as `GET /v1/alerts` lists it
 * @param webhook - whether the model has a webhook now
 * @param time - how to show the delivery time @defaultValue the ISO string
 * @example
 * deliveryText({ ...alert, deliveredAt: null, attempts: 1, lastError: "502", retryAt: "2026-12-05T07:31:00.000Z" }, true) // "not delivered after 1 attempt: 502; next try 2026-12-05T07:31:00.000Z"
 */
export function deliveryText(alert: Alert, webhook: boolean, time: (iso: string) => string = (iso) => iso): string {
  if (alert.deliveredAt !== null) return `delivered ${time(alert.deliveredAt)}`;
  if (alert.lastError !== null) {
    const next = alert.retryAt === null ? "no more tries" : `next try ${time(alert.retryAt)}`;
    return `not delivered after ${alert.attempts} attempt${alert.attempts === 1 ? "" : "s"}: ${alert.lastError}; ${next}`;
  }
  return webhook ? "not posted yet: the next cron run posts it" : "not posted: no webhook";
}
