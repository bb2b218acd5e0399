/**
 * The frequent items of a stream in bounded memory (Misra–Gries): at most `capacity` counters;
 * an item not counted while all are taken lowers every counter by one instead. A count never
 * exceeds the item's true count, and it undercounts by at most n / (capacity + 1) after n
 * items, so every item seen more often than that is kept. Items seen once each in a flood wear
 * each other out.
 */
export class FrequentValues {
  private readonly counts = new Map<string, number>();

  /**
   * @param capacity - counters kept at most
   */
  constructor(private readonly capacity: number) {}

  /**
   * Counts one occurrence of `item`.
   *
   * @param item - the item
   */
  add(item: string): void {
    const count = this.counts.get(item);
    if (count !== undefined) this.counts.set(item, count + 1);
    else if (this.counts.size < this.capacity) this.counts.set(item, 1);
    else {
      for (const [other, c] of this.counts) {
        if (c <= 1) this.counts.delete(other);
        else this.counts.set(other, c - 1);
      }
    }
  }

  /**
   * The counted items, most frequent first.
   */
  top(): [item: string, count: number][] {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }

  /**
   * Whether `item` is counted now.
   *
   * @param item - the item
   */
  has(item: string): boolean {
    return this.counts.has(item);
  }

  /** Forgets every item. */
  clear(): void {
    this.counts.clear();
  }

  /**
   * Forgets `item`.
   *
   * @param item - the item
   */
  delete(item: string): void {
    this.counts.delete(item);
  }
}
