import type { ModelStore, Prediction } from "./types.ts";

/** A remembered prediction: version, predicted class (or -1) and score or value. */
export type Remembered = [version: number, cls: number, score: number];

/** A page's ring; `taken`: the ids it took of other pages' rings, which stay stored as they were. */
type Ring = { prefix: string; data: Float64Array; savedAt?: number; taken?: string[] };
const FIELDS = 4;
/**
 * Rings of earlier pages (and other tabs) kept, the newest by when they were saved: with the
 * page's own, four rings in memory and in the store (`feedbackCapacity` × 32 bytes each).
 */
const KEPT_RINGS = 3;

/**
 * The last `capacity` predictions, so a label given later with `feedback()` is joined on the
 * device. A ring of numbers indexed by the id's sequence number: remembering a row is four
 * stores, which keeps it off predict()'s bill. Each page saves its own ring (`<key>:<prefix>`)
 * with each report, so labels that arrive after a reload still join, to a prediction of any of
 * the last pages, tabs side by side too (one ring for all let the last tab to save overwrite the
 * others').
 */
export class FeedbackStore {
  private ring_: Ring;
  private prev_: Ring[] = [];
  private seq_ = 0;
  /** Past the newest loaded ring's `savedAt`: this page's saves order after it with the clock set back. */
  private after_ = 0;

  /**
   * @param store_ - where to keep it across reloads
   * @param key_ - its key in the store's `meta` area; each page's ring is under `<key>:<prefix>`
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

  /**
   * Loads the rings earlier pages saved, the {@link KEPT_RINGS} newest, and deletes the older
   * ones; a stored ring that is none (other script of the origin wrote it) is passed over.
   */
  async load(): Promise<void> {
    const keys = (await this.store_.keys("meta").catch(() => [])).filter((k) => k.startsWith(`${this.key_}:`));
    const rings: Array<[string, Ring]> = [];
    for (const key of keys) {
      const ring = await this.store_.get<Ring>("meta", key).catch(() => undefined);
      // a savedAt that is none (NaN, Infinity: other script's) would sort the rings at random
      if (ring?.prefix && ring.data instanceof Float64Array && ring.savedAt! < 9e15) rings.push([key, ring]);
    }
    rings.sort(([, a], [, b]) => b.savedAt! - a.savedAt!);
    this.after_ = (rings[0]?.[1].savedAt as number) + 1 || 0;
    for (const [key] of rings.splice(KEPT_RINGS)) void this.store_.delete("meta", key).catch(() => {});
    this.prev_ = rings.map(([, ring]) => ring);
    // what later pages took of these rings is taken here too (and listed again in this page's ring)
    for (const ring of this.prev_) if (Array.isArray(ring.taken)) for (const id of ring.taken) this.take(id);
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
   * `forget` is false: a label joins once, also across reloads (an id taken of an earlier page's
   * ring is listed in this page's, and the next page forgets it too).
   *
   * @param id - prediction id
   * @param forget - whether to forget it
   */
  take(id: string, forget = true): Remembered | undefined {
    const text = `${id}`;
    for (const ring of [this.ring_, ...this.prev_]) {
      // indexOf, not startsWith: a stored prefix may be anything (startsWith throws on a RegExp),
      // and one that only begins the id passes to the next ring
      if (text.indexOf(ring.prefix)) continue;
      const [start, r] = text.slice(ring.prefix.length).split(".");
      const s = +start! + +r!;
      const at = (s % (ring.data.length / FIELDS)) * FIELDS;
      if (!r || !(s > 0) || ring.data[at] !== s) continue;
      if (forget) {
        ring.data[at] = 0;
        if (ring !== this.ring_) (this.ring_.taken ??= []).push(text);
      }
      return [ring.data[at + 1]!, ring.data[at + 2]!, ring.data[at + 3]!];
    }
    return undefined;
  }

  /** Saves this page's ring to the store. */
  save(): Promise<void> {
    this.ring_.savedAt = Math.max(Date.now(), this.after_);
    return this.store_.put("meta", `${this.key_}:${this.ring_.prefix}`, this.ring_).catch(() => {});
  }
}
