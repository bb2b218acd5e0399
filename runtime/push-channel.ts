import type { RuntimeState } from "./runtime-state.ts";

/** Reconnect waits double from this… */
const FIRST_WAIT_MS = 1000;
/** …up to this, each drawn ±50 % (jitter), so clients cut off together do not return together. */
const MAX_WAIT_MS = 300_000;

/**
 * Subscribes to the model's rollout channel (`GET /v1/rollout-channel`, a WebSocket): each message
 * is the model's config version, the first one sent on connect, so a change made while the
 * channel was down is caught on reconnect. When it differs from the applied assignment's,
 * `refresh` fetches the assignment (the client's canary bucket stays sticky: the collector
 * assigns it). While the channel is open, `s.pushed` holds the last version it sent and the
 * report schedule polls only when the assignment applied is not of it (its fetch failed). The channel closes while the page is hidden and reopens
 * when it is shown; a lost or refused connection is retried after 1 s doubling to 5 min, ±50 %.
 * Without a `WebSocket` (Node before 22) nothing opens and report hints and polls carry updates,
 * as they do whenever the channel is down.
 *
 * @param s - the runtime's state
 * @param refresh - fetches and applies the assignment
 * @returns closes the channel for good
 */
export function openChannel(s: RuntimeState, refresh: () => void): () => void {
  const { WebSocket: hasSockets, document: doc } = globalThis as Partial<typeof globalThis>;
  if (!hasSockets) return () => {};
  const { o } = s;
  const q = encodeURIComponent;
  const url = `${o.collector.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/rollout-channel?model=${q(o.model)}&key=${q(o.key)}`;
  let ws: WebSocket | undefined;
  let timer: unknown;
  let failures = 0;
  let stopped = false;
  const quiet = () => stopped || doc?.hidden === true;

  const connect = () => {
    if (quiet() || ws) return;
    const socket = (ws = new WebSocket(url));
    socket.onmessage = (e) => {
      failures = 0;
      // the collector's own message: {"configVersion": n}; another (a proxy's, a broken server's)
      // must not throw into the page
      try {
        s.pushed = (JSON.parse(e.data as string) as { configVersion: number }).configVersion;
        if (s.pushed !== s.current.configVersion) refresh();
      } catch {}
    };
    socket.onclose = () => {
      if (ws !== socket) return;
      ws = s.pushed = undefined;
      if (!quiet()) timer = o.clock.setTimeout(connect, Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** failures++) * (0.5 + Math.random()));
    };
  };
  const close = () => {
    o.clock.clearTimeout(timer);
    const socket = ws;
    ws = s.pushed = undefined;
    socket?.close(1000);
  };
  const onVisibility = () => {
    if (doc!.hidden) return close();
    failures = 0;
    connect();
  };
  doc?.addEventListener("visibilitychange", onVisibility);
  connect();
  return () => {
    stopped = true;
    doc?.removeEventListener("visibilitychange", onVisibility);
    close();
  };
}
