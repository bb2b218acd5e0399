import { DriftlineError, type ErrorCode } from "../protocol/errors.ts";
import { LIMITS } from "../protocol/limits.ts";
import { download } from "./download.ts";
import type { LogBatch } from "../protocol/schema/prediction-log.ts";
import type { ReportBatch } from "../protocol/schema/report.ts";
import type { Assignment, Transport } from "./types.ts";

/** A collector error; `retryAfter` (ms) when the collector asked for a pause. */
export type ApiError = DriftlineError & { status?: number; retryAfter?: number };

/** What `POST /v1/reports` answers. */
export interface ReportsAnswer {
  accepted?: unknown[] | number;
  /** Reports refused for good (they are not resent): each with the collector's code and reason. */
  rejected?: Array<{ id: string | null; code: ErrorCode; message: string }>;
  /** A hint: enough to tell whether the assignment moved (`configVersion`), no manifests. */
  assignment?: Pick<Assignment, "version" | "configVersion" | "sampleRate"> | null;
}

/** The collector's HTTP API as the runtime uses it. */
export interface Api {
  /** `config`: the config version the rollout channel pushed, so the collector may answer from its cache of at least that one. */
  assignment(model: string, client: string, config?: number): Promise<Assignment>;
  /** Downloads `url` (a model), aborted once nothing arrives for `timeoutMs` or more than `maxBytes` arrive. */
  artifact(url: string, maxBytes: number): Promise<Uint8Array>;
  reports(batch: ReportBatch): Promise<ReportsAnswer>;
  /** Queues a POST of `body` (JSON) to `path` (`/v1/reports`, `/v1/logs`) while the page goes away, the key in `?key=`; false when the platform refused. */
  beacon(path: string, body: string): boolean;
  /** Sends a batch of logged rows (`POST /v1/logs`). */
  logs(batch: LogBatch): Promise<unknown>;
}

/** Bytes of an API answer: an assignment holds two manifests (live and shadow), neither profiled. */
const ANSWER_BYTES = 2 * LIMITS.manifestBytes;

/**
 * Builds the {@link Api} over a {@link Transport}. Failures throw coded errors: `network`
 * (no answer), `rate_limited` (429), `unavailable` (5xx), `integrity` (an answer past its size
 * limit) or the collector's own code (but never `integrity`, which only the client decides). Every
 * request is a {@link download}: aborted once nothing arrives for `timeoutMs`, and its answer (an
 * error answer too) read no further than its size limit.
 *
 * @param base - collector base URL
 * @param key - ingest key
 * @param transport - how to talk HTTP
 * @param timeoutMs - how long nothing may arrive (a model may take longer in all)
 */
export function createApi(base: string, key: string, transport: Transport, timeoutMs: number): Api {
  const root = base.replace(/\/+$/, "");
  const call = async (path: string, init?: RequestInit, maxBytes = ANSWER_BYTES) => {
    const url = path.startsWith("http") ? path : root + path;
    const { res, read } = await download(path, timeoutMs, maxBytes, (signal) => transport.fetch(url, { ...init, headers: { authorization: `Bearer ${key}`, ...init?.headers }, signal }), true).catch(
      (err: Error) => {
        throw new DriftlineError("network", err.message, err);
      },
    );
    if (res.ok) return read();
    const { status } = res;
    const e = ((await json(read()).catch(() => 0)) as { error?: { code?: ErrorCode; message?: string } })?.error;
    // `integrity` is the client's own verdict (bytes past their limit or not as signed), never an answer's
    const code = e?.code === "integrity" ? undefined : e?.code;
    const err: ApiError = new DriftlineError(status === 429 ? "rate_limited" : status >= 500 ? "unavailable" : (code ?? "network"), `${path}: ${status} ${e?.message ?? ""}`);
    err.status = status;
    const after = res.headers.get("retry-after");
    if (after) err.retryAfter = Number(after) * 1000 || Math.max(0, Date.parse(after) - Date.now()) || 0;
    throw err;
  };
  const post = (path: string, text: string) =>
    // keepalive requests share a 64 KiB budget; bigger ones would be refused outright
    json(call(path, { method: "POST", body: text, keepalive: text.length < 60_000, headers: { "content-type": "application/json" } }));
  const q = encodeURIComponent;
  return {
    assignment: (model, client, config) => json(call(`/v1/assignment?model=${q(model)}&client=${q(client)}${config === undefined ? "" : `&config=${config}`}`)),
    artifact: (url, maxBytes) => call(url, undefined, maxBytes),
    reports: (batch) => post("/v1/reports", JSON.stringify(batch)),
    logs: (batch) => post("/v1/logs", JSON.stringify(batch)),
    beacon: (path, text) => transport.beacon(`${root}${path}?key=${q(key)}`, text),
  };
}

/** The JSON of an answer's bytes. */
const json = async (bytes: Promise<Uint8Array>) => JSON.parse(new TextDecoder().decode(await bytes));
