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

/** The default {@link Clock}: `Date.now` and global timers that never keep Node alive. */
export const defaultClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    t.unref?.();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as number),
};
