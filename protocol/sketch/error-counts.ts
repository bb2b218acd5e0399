import { type LIMITS, MAX_NAME_LENGTH, MAX_SKETCH_KEYS } from "../limits.ts";
import { type Reader, TAG, decodeWith, encodeWith, readMap, writeMap } from "./codec.ts";
import { keyWithinLimit } from "./key-limit.ts";

/**
 * Error counts by error code, for at most {@link LIMITS.sketchKeys} codes (past that, errors
 * count under `other`: see `keyWithinLimit` in ./key-limit.ts).
 *
 * @example
 * const s = new ErrorCounts();
 * s.update("validation"); s.counts.get("validation"); // 1
 */
export class ErrorCounts {
  /** Count per code. */
  readonly counts = new Map<string, number>();

  /**
   * Counts `n` errors of `code`.
   *
   * @param code - the error code
   * @param n - how many
   * @defaultValue n 1
   */
  update(code: string, n = 1): void {
    const key = keyWithinLimit(this.counts, code);
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - another error count
   * @returns this
   */
  merge(other: ErrorCounts): this {
    for (const [code, n] of other.counts) this.update(code, n);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.errors, 1, (w) => writeMap(w, this.counts, (n) => w.varint(n)));
  }
}

/**
 * Reads {@link ErrorCounts.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeErrorCounts(bytes: Uint8Array): ErrorCounts {
  return decodeWith(bytes, TAG.errors, 1, read);
}

function read(r: Reader): ErrorCounts {
  const s = new ErrorCounts();
  // through update: the key limit as updates apply it (see LatencySketch's reader)
  for (const [code, n] of readMap(r, MAX_SKETCH_KEYS, MAX_NAME_LENGTH, () => r.varint())) s.update(code, n);
  return s;
}
