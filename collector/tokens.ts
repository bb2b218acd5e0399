import { sha256Hex } from "../protocol/hash.ts";
import { randomBase64Url } from "./random.ts";

/** Key roles, from least to most powerful. */
export const ROLES = ["ingest", "read", "admin"] as const;

/** What a key may do: `ingest` (public, in web pages), `read` (dashboards), `admin` (publish, roll out, keys). */
export type Role = (typeof ROLES)[number];

const ROLE_PREFIX: Record<Role, string> = { ingest: "ing", read: "read", admin: "adm" };

/** Characters of a token shown in key listings: enough to recognise a key, useless to use it. */
export const PREFIX_LENGTH = 12;

/** A freshly minted key: the token (shown once), the prefix kept for listings, the stored hash. */
export interface NewToken {
  token: string;
  prefix: string;
  hash: string;
}

/**
 * SHA-256 (hex) of a bearer token: the only form in which tokens are stored or compared.
 *
 * @param token - the bearer token
 */
export function hashToken(token: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(token));
}

/**
 * A new random token for `role`: `<ing|read|adm>_<base64url of 24 random bytes>`.
 *
 * @param role - the key's role, visible in its prefix
 * @example
 * const { token } = await newToken("ingest"); // "ing_Vt3…"
 */
export async function newToken(role: Role): Promise<NewToken> {
  const token = `${ROLE_PREFIX[role]}_${randomBase64Url(24)}`;
  return { token, prefix: token.slice(0, PREFIX_LENGTH), hash: await hashToken(token) };
}

/**
 * Whether two strings are equal, in time that depends only on their length (compare hashes,
 * whose length is public, so nothing about a secret leaks).
 *
 * @param a - first string
 * @param b - second string
 */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
