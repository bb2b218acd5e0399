/**
 * A seeded uniform generator in [0, 1) (xorshift32): what `driftline profile` deals reference
 * rows into random chunks with, so a profile is reproducible, and what the random projections of
 * embeddings are drawn from, so every device and the profile draw the same (protocol/embedding.ts).
 *
 * @param seed - a non-zero 32-bit seed
 */
export function seededRandom(seed = 0x9e3779b9): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
