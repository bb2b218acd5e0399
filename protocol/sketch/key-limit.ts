import { type LIMITS, MAX_SKETCH_KEYS } from "../limits.ts";

/** The key under which a latency or error-count sketch counts what is past its key limit. */
export const OVERFLOW_KEY = "other";

/**
 * The key a value of `key` is counted under in `map` (the entries of a latency or error-count
 * sketch): `key` itself while the map has it or holds fewer than `sketchKeys − 1` keys, else
 * {@link OVERFLOW_KEY}. Updates, merges and decoders all add keys through it, so every such
 * sketch holds at most {@link LIMITS.sketchKeys} keys, {@link OVERFLOW_KEY} among them when it
 * holds that many, and any merge of them is again such a sketch: no count is lost, and only
 * which keys keep their own name depends on the order they arrive in.
 *
 * @param map - the sketch's entries
 * @param key - the key a value comes with
 * @example
 * const key = keyWithinLimit(counts, code); counts.set(key, (counts.get(key) ?? 0) + 1);
 */
export function keyWithinLimit(map: ReadonlyMap<string, unknown>, key: string): string {
  return map.has(key) || map.size < MAX_SKETCH_KEYS - 1 ? key : OVERFLOW_KEY;
}
