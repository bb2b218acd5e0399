// A static file server for the browser tests: 127.0.0.1 only, cross-origin isolated (COOP/COEP),
// so pages get precise performance.now() and onnxruntime-web may use threads.
import { createServer, type Server, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import type { AddressInfo } from "node:net";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".css": "text/css",
};

/** A route that writes its own answer (status, headers, body at its own pace). */
export type Writer = (res: ServerResponse) => void;

/** Extra routes answered from memory, by exact path: a body, or a {@link Writer}. */
export type MemoryRoutes = Record<string, { body: Uint8Array | string | Writer; type?: string }>;

/** A running server; `stop()` closes it and every open connection. */
export interface StaticServer {
  url: string;
  /** Adds or replaces an in-memory route. */
  set(path: string, body: Uint8Array | string | Writer, type?: string): void;
  stop(): Promise<void>;
}

/**
 * Serves `mounts` (URL prefix → directory) and in-memory routes on 127.0.0.1, every response
 * `no-store` except under the `cacheable` prefixes (cached for a year, as immutable).
 * @example startStaticServer({ "/ort/": "node_modules/onnxruntime-web/dist" })
 */
export async function startStaticServer(mounts: Record<string, string>, memory: MemoryRoutes = {}, cacheable: string[] = []): Promise<StaticServer> {
  const routes = new Map(Object.entries(memory));
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
    res.setHeader("Cache-Control", cacheable.some((prefix) => path.startsWith(prefix)) ? "public, max-age=31536000, immutable" : "no-store");
    const fromMemory = routes.get(path);
    if (typeof fromMemory?.body === "function") {
      fromMemory.body(res);
      return;
    }
    if (fromMemory) {
      res.writeHead(200, { "Content-Type": fromMemory.type ?? TYPES[extname(path)] ?? "application/octet-stream" });
      res.end(fromMemory.body);
      return;
    }
    const mount = Object.keys(mounts).find((prefix) => path.startsWith(prefix));
    const file = mount && normalize(join(mounts[mount]!, path.slice(mount.length)));
    if (!mount || !file?.startsWith(normalize(mounts[mount]!))) {
      res.writeHead(404).end("not found");
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (path, body, type) => routes.set(path, type === undefined ? { body } : { body, type }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a server that streams without end wrote before the client hung up. */
export interface Endless {
  write: Writer;
  /** Bytes written so far. */
  sent(): number;
  /** Resolves once the client has hung up. */
  closed: Promise<void>;
}

/**
 * A route that answers `status` with `head`, then zeros for as long as the client reads them (any
 * origin may read it): a server that streams without end.
 */
export function endless(head: Uint8Array, type: string, status = 200): Endless {
  let sent = 0;
  let hungUp: () => void;
  const closed = new Promise<void>((resolve) => (hungUp = resolve));
  return {
    sent: () => sent,
    closed,
    write: (res) => {
      res.on("close", () => hungUp());
      res.writeHead(status, { "content-type": type, "access-control-allow-origin": "*" });
      const zeros = new Uint8Array(1 << 16);
      const more = () => {
        // each write waits for the client to take the previous ones (backpressure)
        for (let ok = true; ok && !res.destroyed; sent += zeros.length) ok = res.write(zeros);
        if (!res.destroyed) res.once("drain", more);
      };
      sent += head.length;
      res.write(head);
      more();
    },
  };
}
