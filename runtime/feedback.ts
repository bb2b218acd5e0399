import type { ModelStore } from "./types.ts";

/** A remembered prediction: version, predicted class (or -1) and score or value. */
export type Remembered = [version: number, cls: number, score: number];

type Ring = { prefix: string; data: Float64Array };
const FIELDS = 4;

/**
 * The last `capacity` predictions, so a label given later with `feedback()` is joined on the
 * device. A ring of numbers indexed by the id's sequence number: remembering a row allocates
 * nothing, which keeps it off predict()'s bill. Saved to the store with each report, so labels
 * that arrive after a reload still join.
 */
export class FeedbackStore {
  private ring: Ring;
  private prev: Ring | undefined;
  private seq = 0;

  /**
   * @param store - where to keep it across reloads
   * @param key - its key in the store's `meta` area
   * @param capacity - predictions kept
   * @param prefix - this page's id prefix (random)
   */
  constructor(
    private readonly store: ModelStore,
    private readonly key: string,
    private readonly capacity: number,
    prefix: string,
  ) {
    this.ring = { prefix, data: new Float64Array(capacity * FIELDS) };
  }

  /** Loads what a previous page saved. */
  async load(): Promise<void> {
    this.prev = await this.store.get<Ring>("meta", this.key).catch(() => undefined);
  }

  /**
   * Remembers a prediction and names it.
   *
   * @param version - model version
   * @param cls - predicted class index, or -1
   * @param score - score or predicted value
   * @returns the prediction id
   */
  remember(version: number, cls: number, score: number): string {
    const s = ++this.seq;
    const at = (s % this.capacity) * FIELDS;
    const d = this.ring.data;
    d[at] = s;
    d[at + 1] = version;
    d[at + 2] = cls;
    d[at + 3] = score;
    return this.ring.prefix + s.toString(36);
  }

  /**
   * The prediction `id`, forgotten as it is taken: a label joins once.
   *
   * @param id - prediction id
   */
  take(id: string): Remembered | undefined {
    for (const ring of [this.ring, this.prev]) {
      if (!ring || !id.startsWith(ring.prefix)) continue;
      const s = parseInt(id.slice(ring.prefix.length), 36);
      const at = (s % (ring.data.length / FIELDS)) * FIELDS;
      if (!(s > 0) || ring.data[at] !== s) return undefined;
      ring.data[at] = 0;
      return [ring.data[at + 1]!, ring.data[at + 2]!, ring.data[at + 3]!];
    }
    return undefined;
  }

  /** Saves to the store. */
  save(): Promise<void> {
    return this.store.put("meta", this.key, this.ring).catch(() => {});
  }
}
