const encoder = /* @__PURE__ */ new TextEncoder();

/**
 * SHA-256 of `bytes` as 64 lowercase hex characters, via WebCrypto (browsers, workerd, Node ≥ 20).
 *
 * @param bytes - the content to hash
 * @example
 * const sha = await sha256Hex(new Uint8Array(await res.arrayBuffer()));
 */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

/**
 * Bytes as lowercase hex, two characters each (a digest as it is written in manifests).
 *
 * @param bytes - the bytes
 * @example
 * toHex(new Uint8Array([0, 255])) // "00ff"
 */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  let hex = "";
  for (const byte of new Uint8Array(bytes)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * MurmurHash3 (x86, 32-bit) of the UTF-8 bytes of `text`: fast, deterministic on every
 * platform, well mixed. Not for security.
 *
 * @param text - the key
 * @param seed - the hash seed
 * @defaultValue seed 0
 * @example
 * hash32("client-1:churn:salt") // an unsigned 32-bit integer
 */
export function hash32(text: string, seed = 0): number {
  const data = encoder.encode(text);
  const tail = data.length & ~3;
  let h = seed >>> 0;
  let k: number;
  for (let i = 0; i < tail; i += 4) {
    k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    h ^= mixKey(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = data.length & 3;
  if (rest) {
    k = 0;
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | data[tail + i]!;
    h ^= mixKey(k);
  }
  return finalMix(h ^ data.length);
}

/**
 * The sticky bucket of `key` in `[0, buckets)`, e.g. for rollout percentages.
 *
 * @param key - e.g. `${client}:${model}:${salt}`
 * @param buckets - how many buckets
 * @defaultValue buckets 100
 * @example
 * const canary = bucket(`${client}:${model}:${salt}`) < percent;
 */
export function bucket(key: string, buckets = 100): number {
  return hash32(key) % buckets;
}

function mixKey(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/**
 * The murmur3 finaliser: a fast bijective mix of 32 bits.
 *
 * @param h - any 32-bit integer
 */
export function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
