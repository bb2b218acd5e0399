/**
 * Signed manifests: a publisher signs what clients run — the manifest without its reference
 * profile, the registry's version number and the signature itself, the model's SHA-256
 * included — with an Ed25519 key; clients that trust the key verify it with WebCrypto before
 * the model runs. Works alike in browsers, Node and Workers.
 */

import { fromBase64, toBase64 } from "./sketch/codec.ts";

/** A manifest's signature: the signer's public key and the signature, both base64url. */
export interface ManifestSignature {
  /** The raw 32-byte Ed25519 public key, base64url. */
  key: string;
  /** The 64-byte Ed25519 signature of {@link signingBytes}, base64url. */
  value: string;
}

/** Fields a signature does not cover: what the registry adds, and the collector-only profile. */
const UNSIGNED = new Set(["profile", "version", "signature"]);

/**
 * JSON with object keys sorted at every level (RFC 8785's ordering; numbers as JSON writes them):
 * the same text for equal values whatever order their keys were written in.
 *
 * @param value - any JSON value
 * @example canonicalJson({ b: 1, a: [2] }) // '{"a":[2],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The bytes a manifest's signature covers: its canonical JSON without `profile`, `version` and
 * `signature`.
 *
 * @param manifest - a manifest (full or as clients get it)
 */
export function signingBytes(manifest: object): Uint8Array<ArrayBuffer> {
  const signed = Object.fromEntries(Object.entries(manifest).filter(([k]) => !UNSIGNED.has(k)));
  return new TextEncoder().encode(canonicalJson(signed)) as Uint8Array<ArrayBuffer>;
}

const ED25519 = { name: "Ed25519" } as const;

/**
 * Signs a manifest.
 *
 * @param manifest - the manifest to publish
 * @param privateKey - an Ed25519 private key (`sign` usage)
 * @param publicKey - its public key, base64url (goes into the signature)
 */
export async function signManifest(manifest: object, privateKey: CryptoKey, publicKey: string): Promise<ManifestSignature> {
  const signature = await crypto.subtle.sign(ED25519, privateKey, signingBytes(manifest));
  return { key: publicKey, value: toBase64Url(new Uint8Array(signature)) };
}

/**
 * Why a manifest's signature does not hold for these trusted keys, or undefined when it does:
 * unsigned, signed by a key not trusted, or not matching what it covers.
 *
 * @param manifest - the manifest, with its `signature`
 * @param trusted - the public keys (base64url) whose signatures are accepted
 */
export async function signatureProblem(manifest: { signature?: ManifestSignature | undefined }, trusted: readonly string[]): Promise<string | undefined> {
  const signature = manifest.signature;
  if (!signature) return "the manifest is not signed";
  if (!trusted.includes(signature.key)) return `signed by a key not trusted (${signature.key.slice(0, 12)}…)`;
  try {
    const key = await crypto.subtle.importKey("raw", fromBase64Url(signature.key), ED25519, false, ["verify"]);
    return (await crypto.subtle.verify(ED25519, key, fromBase64Url(signature.value), signingBytes(manifest))) ? undefined : "the signature does not match the manifest";
  } catch {
    return "the signature cannot be read";
  }
}

/**
 * Bytes as base64url without padding.
 *
 * @param bytes - the bytes
 */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Base64url (padded or not) as bytes; anything else throws DriftlineError `decode`. */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  return fromBase64(text.replace(/-/g, "+").replace(/_/g, "/")) as Uint8Array<ArrayBuffer>;
}
