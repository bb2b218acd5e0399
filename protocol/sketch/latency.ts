import { DriftlineError } from "../errors.ts";
import { LIMITS } from "../limits.ts";
import { type Reader, TAG, decodeWith, encodeWith, expectSame, readMap, writeMap } from "./codec.ts";
import { DEFAULT_K, QuantileSketch } from "./quantiles.ts";

const VERSION = 1;

/**
 * Latency in milliseconds per backend (e.g. `wasm`, `webgpu`): one quantile sketch each.
 *
 * @example
 * const s = new LatencySketch();
 * s.update("wasm", 0.02); s.backends.get("wasm")?.quantile(0.95);
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
    this.sketch(backend).update(ms);
  }

  /**
   * Folds `other` into this sketch.
   *
   * @param other - a sketch with the same `k`
   * @returns this
   */
  merge(other: LatencySketch): this {
    expectSame(this.k === other.k, "k");
    for (const [backend, s] of other.backends) this.sketch(backend).merge(s);
    return this;
  }

  /** Compact versioned bytes. */
  encode(): Uint8Array {
    return encodeWith(TAG.latency, VERSION, (w) => {
      w.varint(this.k);
      writeMap(w, this.backends, (s) => s.write(w));
    });
  }

  /**
   * Reads {@link LatencySketch.encode} bytes; malformed input throws DriftlineError `decode`.
   *
   * @param bytes - encoded sketch
   */
  static decode(bytes: Uint8Array): LatencySketch {
    return decodeWith(bytes, TAG.latency, VERSION, read);
  }

  private sketch(backend: string): QuantileSketch {
    let s = this.backends.get(backend);
    if (!s) {
      if (this.backends.size >= LIMITS.sketchKeys) {
        throw new DriftlineError("limit_exceeded", `more than ${LIMITS.sketchKeys} backends`);
      }
      this.backends.set(backend, (s = new QuantileSketch(this.k)));
    }
    return s;
  }
}

function read(r: Reader): LatencySketch {
  const s = new LatencySketch(r.varint(4096));
  for (const [backend, q] of readMap(r, LIMITS.sketchKeys, LIMITS.nameLength, () => QuantileSketch.read(r))) {
    expectSame(q.k === s.k, "k");
    s.backends.set(backend, q);
  }
  return s;
}
