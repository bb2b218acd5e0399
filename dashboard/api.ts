import type { ErrorEnvelope } from "../protocol/schema/error-envelope.ts";
import { rolloutTag } from "../protocol/rollout-tag.ts";
import type { ModelRef } from "./model-ref.ts";
import type { Window } from "./windows.ts";
import type {
  Alert,
  AlertConfigAnswer,
  DriftAnswer,
  DriftSeriesAnswer,
  DriftWindow,
  ModelDetail,
  ModelSummary,
  RolloutChange,
  Segments,
  StatsAnswer,
  StatsSeriesAnswer,
  WindowQuery,
} from "./types.ts";

/** Which key a call needs: reads take the read key, rollout changes the admin key. */
export type Role = "read" | "admin";

/**
 * A non-2xx answer (or no answer): the status (0 when the network failed), code and message,
 * which key the call used (a refused read key means signing in again), and the call's method.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly role: Role,
    readonly method: string,
  ) {
    super(message);
  }

  /** Whether the call was a change (a rollout, alerts), not a read: an admin key also reads (the alert configuration, whole). */
  get change(): boolean {
    return this.method !== "GET";
  }
}

/**
 * How long a call may wait for its answer: one the collector never answers (a stuck connection)
 * would otherwise hold the refresh it belongs to, and with it every later one, for good.
 */
const ANSWER_WITHIN_MS = 30_000;

/** `?app=` of a model, when its app is known: without it a name two apps share is refused (400). */
function appParam(m: ModelRef): Record<string, string> {
  return m.app === undefined ? {} : { app: m.app };
}

/** `?model=&app=` of a model. */
function modelParams(m: ModelRef): Record<string, string> {
  return { model: m.name, ...appParam(m) };
}

/** `?model=&app=&version=…` of a window query, leaving out what is not set. */
function windowParams(q: WindowQuery): Record<string, string> {
  const params: Record<string, string> = { ...modelParams(q.model), from: String(q.from), to: String(q.to) };
  if (q.version !== undefined) params.version = String(q.version);
  if (q.role) params.role = q.role;
  if (q.segment) params.segment = q.segment;
  return params;
}

/** A series query: a window query without its range, which the windows give. */
type SeriesQuery = Omit<WindowQuery, "from" | "to">;

/** Windows one series request asks for: the collector judges them one after the other, so longer ranges go as several requests at once. */
const SERIES_PART = 6;

/**
 * The query parameters of the requests of a series over `windows`, {@link SERIES_PART} windows
 * each: a 24-hour heatmap is 4 requests the browser sends together, not 24, nor one that
 * judges all 24 windows in turn.
 */
function seriesParts(q: SeriesQuery, windows: readonly Window[]): Record<string, string>[] {
  const step = windows[0]!.to - windows[0]!.from;
  const parts: Record<string, string>[] = [];
  for (let i = 0; i < windows.length; i += SERIES_PART) {
    const part = windows.slice(i, i + SERIES_PART);
    parts.push({ ...windowParams({ ...q, from: part[0]!.from, to: part[part.length - 1]!.to }), step: String(step) });
  }
  return parts;
}

/** The `If-Match` header of a rollout change decided on config version `configVersion`. */
function ifMatch(configVersion: number): Record<string, string> {
  return { "If-Match": rolloutTag(configVersion) };
}

/**
 * The collector's HTTP API, same origin, with `Authorization: Bearer` from the read key or,
 * for rollout changes, the admin key.
 */
export class Api {
  /**
   * @param readKey - a read (or admin) key
   * @param adminKey - an admin key, when the user unlocked the rollout buttons
   */
  constructor(
    private readonly readKey: string,
    private readonly adminKey: string | null,
  ) {}

  /** Aborted by {@link Api.abandonReads}: the signal of the reads in flight. */
  private reads = new AbortController();

  /**
   * Abandons every read in flight: each rejects with an {@link ApiError} of code `abandoned`.
   * For the view the user left: on a slow collector its reads would hold the browser's few
   * connections to it. Changes (rollouts, alerts) are never abandoned.
   */
  abandonReads(): void {
    this.reads.abort();
    this.reads = new AbortController();
  }

  /** Whether rollout changes are possible. */
  get canAdmin(): boolean {
    return this.adminKey !== null;
  }

  private async call<T>(role: Role, method: string, path: string, query: Record<string, string> = {}, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const key = role === "admin" ? this.adminKey : this.readKey;
    if (!key) throw new ApiError(401, "unauthorized", "an admin key is needed for this", role, method);
    const search = new URLSearchParams(query).toString();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ANSWER_WITHIN_MS);
    const reads = method === "GET" ? this.reads.signal : undefined;
    const abandon = () => abort.abort();
    reads?.addEventListener("abort", abandon);
    let res: Response;
    let text: string;
    try {
      res = await fetch(path + (search ? `?${search}` : ""), {
        method,
        headers: { Authorization: `Bearer ${key}`, ...(body !== undefined && { "Content-Type": "application/json" }), ...headers },
        body: body === undefined ? null : JSON.stringify(body),
        signal: abort.signal,
      });
      text = await res.text();
    } catch (err) {
      if (reads?.aborted) throw new ApiError(0, "abandoned", "the page was left before the collector answered", role, method);
      const why = abort.signal.aborted ? `within ${ANSWER_WITHIN_MS / 1000} s` : `(${(err as Error).message})`;
      throw new ApiError(0, "network", `the collector did not answer ${why}`, role, method);
    } finally {
      clearTimeout(timer);
      reads?.removeEventListener("abort", abandon);
    }
    if (res.ok) return JSON.parse(text) as T;
    let error = { code: "http", message: `${method} ${path}: HTTP ${res.status}` };
    try {
      error = (JSON.parse(text) as ErrorEnvelope).error ?? error;
    } catch {
      // not JSON (a proxy's page): keep the status line
    }
    throw new ApiError(res.status, error.code, error.message, role, method);
  }

  /** A call of `/v1/models/:model` or below it (`rest`), naming the model's app. */
  private onModel<T>(role: Role, method: string, m: ModelRef, rest = "", body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.call(role, method, `/v1/models/${encodeURIComponent(m.name)}${rest}`, appParam(m), body, headers);
  }

  /** Checks the admin key with an admin-only read (the keys list): a wrong or read key rejects (401, 403). */
  async checkAdmin(): Promise<void> {
    await this.call("admin", "GET", "/v1/keys");
  }

  /** Every model the key sees (its app's; the bootstrap key's: every app's), each with its app, latest version and rollout. */
  async models(): Promise<ModelSummary[]> {
    return (await this.call<{ models: ModelSummary[] }>("read", "GET", "/v1/models")).models;
  }

  /** One model: rollout, versions, audit log (newest first). */
  model(m: ModelRef): Promise<ModelDetail> {
    return this.onModel("read", "GET", m);
  }

  /** Segment keys and values the model's reports carried. */
  async segments(m: ModelRef): Promise<Segments> {
    return (await this.call<{ segments: Segments }>("read", "GET", "/v1/segments", modelParams(m))).segments;
  }

  /** Drift of a version over a range; `bins` adds the distributions. */
  drift(q: WindowQuery, bins = false): Promise<DriftAnswer> {
    return this.call("read", "GET", "/v1/drift", { ...windowParams(q), ...(bins && { detail: "bins" }) });
  }

  /** Drift of a version in each of `windows` (contiguous, of one size), oldest first ({@link seriesParts}). */
  async driftSeries(q: SeriesQuery, windows: readonly Window[]): Promise<DriftWindow[]> {
    const parts = await Promise.all(seriesParts(q, windows).map((params) => this.call<DriftSeriesAnswer>("read", "GET", "/v1/drift/series", params)));
    return parts.flatMap((p) => p.windows);
  }

  /** Traffic, errors and latency of a version over a range. */
  stats(q: WindowQuery): Promise<StatsAnswer> {
    return this.call("read", "GET", "/v1/stats", windowParams(q));
  }

  /** Traffic, errors, latency and performance of a version in each of `windows` (contiguous, of one size), oldest first ({@link seriesParts}). */
  async statsSeries(q: SeriesQuery, windows: readonly Window[]): Promise<StatsSeriesAnswer> {
    const parts = await Promise.all(seriesParts(q, windows).map((params) => this.call<StatsSeriesAnswer>("read", "GET", "/v1/stats/series", params)));
    return { ...parts[0]!, windows: parts.flatMap((p) => p.windows) };
  }

  /** A model's newest `limit` alert state changes, newest first. */
  async alerts(m: ModelRef, limit: number): Promise<Alert[]> {
    return (await this.call<{ alerts: Alert[] }>("read", "GET", "/v1/alerts", { ...modelParams(m), limit: String(limit) })).alerts;
  }

  /** The alerts firing now, each as the state change that started it, newest first. */
  async firingAlerts(): Promise<Alert[]> {
    return (await this.call<{ alerts: Alert[] }>("read", "GET", "/v1/alerts", { state: "firing", limit: "1000" })).alerts;
  }

  /** A model's alert conditions and objectives; the webhook whole with an admin key (what editing saves back), masked without. */
  alertConfig(m: ModelRef): Promise<AlertConfigAnswer> {
    return this.onModel(this.canAdmin ? "admin" : "read", "GET", m, "/alerts");
  }

  /** `PUT /v1/models/:model/alerts` (admin). */
  setAlertConfig(m: ModelRef, config: Record<string, unknown>): Promise<unknown> {
    return this.onModel("admin", "PUT", m, "/alerts", config);
  }

  /** `PUT /v1/models/:model/rollout` (admin), only while the rollout is at `configVersion`, the one the page shows (else 412 `conflict`). */
  setRollout(m: ModelRef, change: RolloutChange, configVersion: number): Promise<unknown> {
    return this.onModel("admin", "PUT", m, "/rollout", change, ifMatch(configVersion));
  }

  /** `POST /v1/models/:model/rollback` (admin), only while the rollout is at `configVersion`, the one the page shows (else 412 `conflict`). */
  rollback(m: ModelRef, configVersion: number): Promise<unknown> {
    return this.onModel("admin", "POST", m, "/rollback", undefined, ifMatch(configVersion));
  }
}
