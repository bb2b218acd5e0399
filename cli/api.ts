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
}

/** Methods a request may be sent again with: doing them twice does what doing them once does. */
const IDEMPOTENT = ["GET", "HEAD", "PUT", "DELETE"];

/** The collector did not answer (refused, reset or timed out): the request may be tried again. */
export class NoAnswerError extends CliError {}

/**
 * Calls the collector and returns its successful answer unread (for bodies that are not JSON or
 * are streamed). Every failure becomes one readable CliError: a collector that does not answer,
 * a refused key, or the API's error envelope. A GET, HEAD, PUT or DELETE whose connection closed
 * before any answer is sent again (3 tries in all); a POST never is (it may have been taken).
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
  const url = new URL(`${conn.url}${path}`);
  if (conn.app) url.searchParams.set("app", conn.app);
  // a connection kept alive that the server closes as this request comes on it (a loaded `wrangler
  // dev` does) took nothing: an idempotent request with a body it can send again goes again, on
  // another connection (3 tries in all: the next kept-alive one may be closed too)
  const again = IDEMPOTENT.includes(method) && !(body instanceof ReadableStream);
  let res: Response;
  for (let tried = 1; ; tried++) {
    try {
      res = await fetch(url, { method, headers, body, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
      break;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (again && tried < 3 && cause?.code === "UND_ERR_SOCKET") continue;
      throw new NoAnswerError(`the collector at ${conn.url} does not answer (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
  }
  if (res.ok) return res;
  const text = await res.text();
  const envelope = (parseOrUndefined(text) as { error?: { code?: string; message?: string } } | undefined)?.error;
  const detail = envelope ? `${envelope.code}: ${envelope.message}` : text.slice(0, 200) || res.statusText;
  if (res.status === 401) throw new CliError(`the collector refused the key (401 ${detail}); check DRIFTLINE_ADMIN_KEY or --key`);
  if (res.status === 403) throw new CliError(`this key may not do that (403 ${detail})`);
  throw new CliError(`${method} ${path} failed: ${res.status} ${detail}`);
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls the collector and returns the parsed JSON answer; failures as {@link requestRaw}.
 *
 * @param conn - where and as whom
 * @param path - e.g. "/v1/models/churn"
 * @param options - method, JSON body or raw body, headers
 */
export async function request<T = unknown>(conn: Connection, path: string, options: RequestOptions = {}): Promise<T> {
  return parseOrUndefined(await (await requestRaw(conn, path, options)).text()) as T;
}
