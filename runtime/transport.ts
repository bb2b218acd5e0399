import type { Clock, Transport } from "./types.ts";

/** The default {@link Transport}: `fetch`, and `navigator.sendBeacon` where there is one. */
export const defaultTransport: Transport = {
  fetch: (url, init) => fetch(url, init),
  beacon: (url, body) => {
    try {
      return globalThis.navigator?.sendBeacon?.(url, body) ?? false;
    } catch {
      return false;
    }
  },
};

/** The default {@link Clock}: `Date.now`, global timers that never keep Node alive, `requestIdleCallback`. */
export const defaultClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    t.unref?.();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as number),
  idle: (fn) => {
    const ric = globalThis.requestIdleCallback;
    if (ric) ric(() => fn(), { timeout: 1000 });
    else defaultClock.setTimeout(fn, 0);
  },
};
