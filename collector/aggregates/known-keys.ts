import { ERROR_CODES } from "../../protocol/errors.ts";
import { type AnySketch, BACKENDS, ErrorCounts, LatencySketch, OVERFLOW_KEY } from "../../protocol/sketch/index.ts";

const KNOWN_BACKENDS: ReadonlySet<string> = new Set([...BACKENDS, OVERFLOW_KEY]);
const KNOWN_CODES: ReadonlySet<string> = new Set([...ERROR_CODES, OVERFLOW_KEY]);

/**
 * A report's latency or error-count sketch with every key no runtime writes — a backend not in
 * `BACKENDS`, an error code not in `ERROR_CODES` — counted under `other` (`OVERFLOW_KEY`); any
 * other sketch as it is (the report checks refuse one of the wrong kind). Every count stays.
 * A window's sketch keeps the first 64 keys that reach it (protocol/sketch/key-limit.ts): without
 * this, a sender that filed one report of 64 made-up keys for a window first (any window up to a
 * day ahead) had every real backend's calls and every real code's errors there counted as `other`.
 *
 * @param s - a decoded sketch of a report
 */
export function knownKeys(s: AnySketch): AnySketch {
  if (s instanceof LatencySketch) {
    const out = new LatencySketch(s.k);
    for (const [backend, q] of s.backends) {
      const key = KNOWN_BACKENDS.has(backend) ? backend : OVERFLOW_KEY;
      const kept = out.backends.get(key);
      if (kept) kept.merge(q);
      else out.backends.set(key, q);
    }
    return out;
  }
  if (s instanceof ErrorCounts) {
    const out = new ErrorCounts();
    for (const [code, n] of s.counts) out.update(KNOWN_CODES.has(code) ? code : OVERFLOW_KEY, n);
    return out;
  }
  return s;
}
