import type { AnswerSchema } from "../protocol/api.ts";
import { CliError } from "./args.ts";

/** Where the collector is, as whom to call it, and which app's models a bootstrap key means. */
export interface Connection {
  url: string;
  key: string;
  /** Sent as `?app=` with every request: names the app for the bootstrap key, which has none. */
  app?: string | undefined;
}

/** The collector a local `npm start` runs. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/**
 * The connection from flags, else DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY and DRIFTLINE_APP.
 *
 * @param flags - parsed `--url`, `--key` and `--app`
 */
export function connection(flags: { url?: string | undefined; key?: string | undefined; app?: string | undefined }): Connection {
  const url = (flags.url ?? process.env.DRIFTLINE_URL ?? DEFAULT_URL).replace(/\/+$/, "");
  const key = flags.key ?? process.env.DRIFTLINE_ADMIN_KEY;
  if (!key) throw new CliError("no key: set DRIFTLINE_ADMIN_KEY or pass --key (npm start prints the local admin key)");
  // `localhost:8787` parses as a URL of scheme "localhost:"
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new CliError(`"${url}" is not an http:// or https:// URL (DRIFTLINE_URL or --url), e.g. ${DEFAULT_URL}`);
  const app = flags.app ?? process.env.DRIFTLINE_APP;
  return { url, key, ...(app ? { app } : {}) };
}

/** Options of one {@link request}. */
export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /**
   * The media type a successful answer must have (sent as `Accept`), e.g. `application/x-ndjson`:
   * another is a CliError saying the server may not be the collector. JSON answers are checked by
   * {@link request} itself.
   */
  accept?: string;
  /**
   * Whether the request may be sent again when its connection closes before any answer: by
   * default a GET, HEAD, PUT or DELETE (doing them twice does what doing them once does). A POST
   * the collector takes only once may say so: a publish of bytes and a profile already published
   * answers 200, a change with `If-Match` 412.
   */
  resendable?: boolean;
}

/** Methods a request may be sent again with: doing them twice does what doing them once does. */
const IDEMPOTENT = ["GET", "HEAD", "PUT", "DELETE"];

/** The collector did not answer (refused, reset or timed out): the request may be tried again. */
export class NoAnswerError extends CliError {
  /**
   * @param message - the one line the CLI prints
   * @param reason - undici's error code (`ECONNREFUSED`, `UND_ERR_SOCKET` …) or message
   */
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }

  /** Whether the request may have reached the collector: anything but a refused connection. */
  get mayHaveArrived(): boolean {
    return this.reason !== "ECONNREFUSED";
  }
}

/** The collector answered with an error status: its status and the envelope's code. */
export class AnswerError extends CliError {
  /**
   * @param message - the one line the CLI prints
   * @param status - the HTTP status
   * @param code - the error envelope's code, if the answer had one
   */
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * Calls the collector and returns its successful answer unread (for bodies that are not JSON or
 * are streamed). Every failure becomes one readable CliError: a collector that does not answer,
 * a refused key, or the API's error envelope ({@link AnswerError}). A GET, HEAD, PUT or DELETE
 * whose connection closed before any answer is sent again (3 tries in all); a POST only when it
 * is `resendable` (it may have been taken).
 *
 * @param conn - where and as whom
 * @param path - e.g. "/v1/logs?model=churn"
 * @param options - method, JSON body or raw body, headers
 */
export async function requestRaw(conn: Connection, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${conn.key}`, ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const method = options.method ?? "GET";
  if (options.accept) headers.accept = options.accept;
  const url = new URL(`${conn.url}${path}`);
  if (conn.app) url.searchParams.set("app", conn.app);
  // a connection kept alive that the server closes as this request comes on it (a loaded `wrangler
  // dev` does) took nothing: an idempotent request with a body it can send again goes again, on
  // another connection (3 tries in all: the next kept-alive one may be closed too)
  const again = (options.resendable ?? IDEMPOTENT.includes(method)) && !(body instanceof ReadableStream);
  let res: Response;
  for (let tried = 1; ; tried++) {
    try {
      res = await fetch(url, { method, headers, body, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
      break;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (again && tried < 3 && cause?.code === "UND_ERR_SOCKET") continue;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new NoAnswerError(`the collector at ${conn.url} does not answer (${reason})`, reason);
    }
  }
  if (res.ok) {
    const type = res.headers.get("content-type") ?? "";
    if (options.accept && !type.startsWith(options.accept)) throw notTheCollector(conn, method, path, res, "NDJSON", await res.text());
    return res;
  }
  const text = await res.text();
  const envelope = (parseOrUndefined(text) as { error?: { code?: string; message?: string } } | undefined)?.error;
  const detail = envelope ? `${envelope.code}: ${envelope.message}` : pageText(text) || res.statusText;
  const message =
    res.status === 401
      ? `the collector refused the key (401 ${detail}); check DRIFTLINE_ADMIN_KEY or --key`
      : res.status === 403
        ? `this key may not do that (403 ${detail})`
        : `${method} ${path} failed: ${res.status} ${detail}`;
  throw new AnswerError(message, res.status, envelope?.code);
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An answer's text for one line: an HTML page's text without its markup, every run of white space
 * one space, at most 200 characters.
 */
function pageText(text: string): string {
  return text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

/**
 * The failure of a successful answer that is not what the collector answers (a proxy's sign-in
 * page, a web site, an empty body): the URL likely names another server.
 */
function notTheCollector(conn: Connection, method: string, path: string, res: Response, expected: string, text: string): CliError {
  const type = res.headers.get("content-type")?.split(";")[0] || "no content type";
  const shown = pageText(text);
  return new CliError(
    `${method} ${path} answered ${res.status} with no ${expected} (${type}${shown ? `: "${shown.slice(0, 80)}"` : ", empty"}): is ${conn.url} the Driftline collector? (--url or DRIFTLINE_URL)`,
  );
}

/**
 * Calls the collector and returns the parsed JSON answer; failures as {@link requestRaw}, and a
 * CliError when the answer is not JSON (the URL names another server).
 *
 * @param conn - where and as whom
 * @param path - e.g. "/v1/models/churn"
 * @param options - method, JSON body or raw body, headers
 */
export async function request<T = unknown>(conn: Connection, path: string, options: AnswerOptions<T> = {}): Promise<T> {
  return (await requestJson<T>(conn, path, options)).answer;
}

/** {@link RequestOptions}, and the shape the answer must have. */
export interface AnswerOptions<T> extends RequestOptions {
  /**
   * The answer's schema (protocol/api.ts, which the collector's OpenAPI document and its tests
   * share): an answer of another shape is a CliError saying the server may not be the collector,
   * not a TypeError where a command reads it. The answer is returned as sent, not as parsed.
   */
  answer?: AnswerSchema<T>;
}

/**
 * {@link request}, with the answer's status too (publish tells a version made, 201, from one that
 * was there, 200).
 *
 * @param conn - where and as whom
 * @param path - e.g. "/v1/models/churn/versions"
 * @param options - method, JSON body or raw body, headers
 */
export async function requestJson<T = unknown>(conn: Connection, path: string, options: AnswerOptions<T> = {}): Promise<{ status: number; answer: T }> {
  const res = await requestRaw(conn, path, options);
  const text = await res.text();
  const answer = parseOrUndefined(text);
  const method = options.method ?? "GET";
  if (answer === undefined) throw notTheCollector(conn, method, path, res, "JSON", text);
  const issue = options.answer?.safeParse(answer).error?.issues[0];
  if (issue) throw notTheCollector(conn, method, path, res, `answer of the collector's shape (${issue.path.join(".") || "the answer"}: ${issue.message})`, text);
  return { status: res.status, answer: answer as T };
}
