import type { ModelStore, Prediction } from "./types.ts";

/** A remembered prediction: version, predicted class (or -1) and score or value. */
export type Remembered = [version: number, cls: number, score: number];

type Ring = { prefix: string; data: Float64Array };
const FIELDS = 4;

/**
 * The last `capacity` predictions, so a label given later with `feedback()` is joined on the
 * device. A ring of numbers indexed by the id's sequence number: remembering a row is four
 * stores, which keeps it off predict()'s bill. Saved to the store with each report, so labels
 * that arrive after a reload still join.
 */
export class FeedbackStore {
  private ring_: Ring;
  private prev_: Ring | undefined;
  private seq_ = 0;

  /**
   * @param store_ - where to keep it across reloads
   * @param key_ - its key in the store's `meta` area
   * @param capacity_ - predictions kept
   * @param prefix - this page's id prefix (random)
   */
  constructor(
    private readonly store_: ModelStore,
    private readonly key_: string,
    private readonly capacity_: number,
    prefix: string,
  ) {
    this.ring_ = { prefix, data: new Float64Array(capacity_ * FIELDS) };
  }

  /** Loads what a previous page saved; a stored ring that is none (other script of the origin wrote it) is passed over. */
  async load(): Promise<void> {
    const prev = await this.store_.get<Ring>("meta", this.key_).catch(() => undefined);
    this.prev_ = prev?.prefix && prev.data instanceof Float64Array ? prev : undefined;
  }

  /**
   * Remembers one call's `n` predictions and names them: row `r` is `prefix + start + "." + r`,
   * which costs one number-to-text conversion per call, not per row.
   *
   * @param preds - the predictions, `id` to be set (none for a columnar batch)
   * @param n - rows in the call
   * @param version - model version
   * @param staged - their classes (or -1) from `at` on, then their scores or values
   * @param at - where in `staged`
   * @returns the call's id prefix: row `r`'s id is it followed by `r`
   */
  name(preds: Prediction[], n: number, version: number, staged: Float64Array, at: number): string {
    const start = this.seq_ + 1;
    const base = `${this.ring_.prefix}${start}.`;
    const d = this.ring_.data;
    this.seq_ += n;
    for (let r = 0; r < n; r++) {
      const i = ((start + r) % this.capacity_) * FIELDS;
      d[i] = start + r;
      d[i + 1] = version;
      d[i + 2] = staged[at + r]!;
      d[i + 3] = staged[at + n + r]!;
      if (preds.length) preds[r]!.id = base + r;
    }
    return base;
  }

  /**
   * The prediction `id` (a row's: a batch's own id names none), forgotten as it is taken unless
   * `forget` is false: a label joins once.
   *
   * @param id - prediction id
   * @param forget - whether to forget it
   */
  take(id: string, forget = true): Remembered | undefined {
    for (const ring of [this.ring_, this.prev_]) {
      if (!ring || !`${id}`.startsWith(ring.prefix)) continue;
      const [start, r] = id.slice(ring.prefix.length).split(".");
      const s = +start! + +r!;
      const at = (s % (ring.data.length / FIELDS)) * FIELDS;
      if (!r || !(s > 0) || ring.data[at] !== s) return undefined;
      if (forget) ring.data[at] = 0;
      return [ring.data[at + 1]!, ring.data[at + 2]!, ring.data[at + 3]!];
    }
    return undefined;
  }

  /** Saves to the store. */
  save(): Promise<void> {
    return this.store_.put("meta", this.key_, this.ring_).catch(() => {});
  }
}
