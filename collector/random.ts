/**
 * `n` cryptographically random bytes as unpadded base64url (URL- and header-safe).
 *
 * @param n - how many random bytes
 * @example
 * randomBase64Url(24) // 32 characters
 */
export function randomBase64Url(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
