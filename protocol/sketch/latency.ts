import { type LIMITS, MAX_NAME_LENGTH, MAX_SKETCH_KEYS } from "../limits.ts";
import { type Reader, TAG, decodeWith, encodeWith, expectSame, readMap, writeMap } from "./codec.ts";
import { keyWithinLimit } from "./key-limit.ts";
import { DEFAULT_K, QuantileSketch, readQuantiles } from "./quantiles.ts";

/** The backends a runtime runs a model on (the runtime's `Backend`): a latency sketch's keys. */
export const BACKENDS = ["webgpu", "wasm"] as const;

/**
 * Latency in milliseconds per backend (e.g. `wasm`, `webgpu`): one quantile sketch each, for
 * at most {@link LIMITS.sketchKeys} backends (past that, calls count under `other`: see
 * `keyWithinLimit` in ./key-limit.ts).
 *
 * @example
 * const s = new LatencySketch();
 * s.update("wasm", 0.02); quantile(s.backends.get("wasm")!, 0.95); // quantile from ./query.ts
 */
export class LatencySketch {
  /** KLL size parameter of every backend's sketch. */
  readonly k: number;
  /** Quantile sketch of milliseconds, per backend. */
  readonly backends = new Map<string, QuantileSketch>();

  /**
   * @param k - KLL size parameter
   * @defaultValue k {@link DEFAULT_K}
   */
  constructor(k = DEFAULT_K) {
    this.k = new QuantileSketch(k).k;
  }

  /**
   * Records one call.
   *
   * @param backend - the backend that ran it
   * @param ms - how long it took
   */
  update(backend: string, ms: number): void {
    this.sketch_(backend).update(ms);
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same `k`
   * @returns this
   */
  merge(other: LatencySketch): this {
    expectSame(this.k === other.k, "k");
    for (const [backend, s] of other.backends) this.sketch_(backend).merge(s);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.latency, 1, (w) => {
      w.varint(this.k);
      writeMap(w, this.backends, (s) => s.write(w));
    });
  }

  private sketch_(backend: string): QuantileSketch {
    let s = this.backends.get(backend);
    if (!s) {
      // a new backend: its own sketch, or `other`'s past the key limit
      const key = keyWithinLimit(this.backends, backend);
      s = this.backends.get(key);
      if (!s) this.backends.set(key, (s = new QuantileSketch(this.k)));
    }
    return s;
  }
}

/**
 * Reads {@link LatencySketch.encode} bytes; malformed input throws DriftlineError `decode`. A
 * function, not a static method, so bundles that never decode (the browser runtime) leave
 * the reader out.
 *
 * @param bytes - encoded sketch
 */
export function decodeLatency(bytes: Uint8Array): LatencySketch {
  return decodeWith(bytes, TAG.latency, 1, read);
}

function read(r: Reader): LatencySketch {
  const s = new LatencySketch(r.varint());
  for (const [backend, q] of readMap(r, MAX_SKETCH_KEYS, MAX_NAME_LENGTH, () => readQuantiles(r))) {
    expectSame(q.k === s.k, "k");
    // the key limit as updates apply it: the last of as many keys as the limit, `other` absent,
    // counts under `other`
    const key = keyWithinLimit(s.backends, backend);
    const mine = s.backends.get(key);
    if (mine) mine.merge(q);
    else s.backends.set(key, q);
  }
  return s;
}
