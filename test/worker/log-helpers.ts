import { expect } from "vitest";
import type { LogBatch, LogLabel, LogRow } from "../../protocol/schema/prediction-log.ts";
import { call } from "./registry-helpers.ts";

let n = 0;

/**
 * A logged row of the two-feature test model (`manifestFor`: tenure, plan).
 *
 * @param version - the version that predicted
 * @param extra - fields to override
 */
export function logRow(version: number, extra: Partial<LogRow> = {}): LogRow {
  n++;
  return { id: `p${n}.0`, version, t: Date.now(), segment: { app: "web" }, inputs: { tenure: 10 + n, plan: n % 2 ? "pro" : "basic" }, label: "yes", score: 0.75, ...extra };
}

/**
 * A batch of `POST /v1/logs`.
 *
 * @param model - the model name
 * @param rows - its rows
 * @param labels - labels of rows sent earlier
 * @param extra - fields to override (`client`, `id`)
 */
export function logBatch(model: string, rows: LogRow[], labels: LogLabel[] = [], extra: Partial<LogBatch> = {}): LogBatch {
  return { id: `batch-${++n}`, model, client: "log-client", rows, labels, ...extra };
}

/**
 * Posts a batch with an ingest key.
 *
 * @param token - the key
 * @param batch - the body
 * @param headers - extra headers
 */
export function postLogs(token: string, batch: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call("POST", "/v1/logs", { token, json: batch, headers });
}

/**
 * The rows `GET /v1/logs` exports, parsed, and its `Driftline-Dropped` header.
 *
 * @param token - a read key
 * @param query - the query string after `?`
 */
export async function exportLogs(token: string, query: string): Promise<{ rows: LogRow[]; dropped: number }> {
  const res = await call("GET", `/v1/logs?${query}`, { token });
  // workerd warns on text() of a type it does not know as text
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(res.status, text).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
  return {
    rows: text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogRow),
    dropped: Number(res.headers.get("Driftline-Dropped")),
  };
}
