import { ALL_SEGMENT, OTHER_COMBINATION, segmentSlices } from "../aggregates/segments.ts";
import { DEFAULT_MAX_COMBINATIONS } from "../config.ts";

/** Windows remembered at most; the oldest is forgotten first. */
const MAX_WINDOWS = 512;

/**
 * The cap on full segment combinations (two or more `key:value` pairs) stored per window. The
 * first `limit` combinations seen in a window keep their own row; later ones fold into
 * {@link OTHER_COMBINATION}. Unsliced totals and single pairs are never folded (the value and key
 * caps bound them). Held in memory by one aggregator object: across `INGEST_SHARDS` objects a
 * window holds at most shards × limit combinations; a window forgotten (past the 512 most
 * recent, or after the object restarts) starts counting again.
 *
 * @example
 * const cap = new CombinationCap(2);
 * cap.slices("a:1,b:1", "hour|0") // ["", "a:1,b:1"]
 * cap.slices("a:2,b:2", "hour|0") // ["", "a:2,b:2"]
 * cap.slices("a:3,b:3", "hour|0") // ["", "a:3", "b:3", "other"]
 */
export class CombinationCap {
  private readonly windows = new Map<string, Set<string>>();

  /**
   * @param limit - combinations kept per window
   */
  constructor(private readonly limit: number = DEFAULT_MAX_COMBINATIONS) {}

  /**
   * `canonical` when its window still has room for it (or it is not a combination), else
   * {@link OTHER_COMBINATION}.
   *
   * @param canonical - a canonical segment (the full combination of a report)
   * @param windowKey - the window the row goes to, e.g. `${granularity}|${windowStart}`
   */
  capCombination(canonical: string, windowKey: string): string {
    if (!canonical.includes(",")) return canonical;
    let kept = this.windows.get(windowKey);
    if (!kept) {
      if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(windowKey, (kept = new Set()));
    }
    if (kept.has(canonical)) return canonical;
    if (kept.size >= this.limit) return OTHER_COMBINATION;
    kept.add(canonical);
    return canonical;
  }

  /**
   * The segment rows a report's canonical segment contributes to in one window: the unsliced
   * total, and its full combination while the window has room for it — or, past the cap, each
   * of its pairs and {@link OTHER_COMBINATION}. A pair's slice is so the combinations that
   * contain it plus its own row, which holds only folded traffic (and reports of that one pair):
   * no report is in both, and no pair row repeats what the combinations hold.
   *
   * @param canonical - a canonical segment
   * @param windowKey - the window, e.g. `${granularity}|${windowStart}`
   */
  slices(canonical: string, windowKey: string): string[] {
    const slices = segmentSlices(canonical);
    if (slices.length <= 2) return slices;
    const kept = this.capCombination(canonical, windowKey);
    return kept === canonical ? [ALL_SEGMENT, canonical] : slices.slice(0, -1).concat(kept);
  }
}
