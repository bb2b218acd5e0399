import { existsSync, writeFileSync } from "node:fs";
import { toBase64Url } from "../../protocol/signature.ts";
import { CliError, UsageError, parse, readTextFile, takeAction } from "../args.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline signing create -o publisher.key

Makes an Ed25519 key pair for signing models. The private key goes into the file (mode 600; keep
it with the publisher, never in the repository or a web page); the public key is printed and
written next to it (publisher.key.pub). Give the public key to the runtime —
createRuntime({ trust: [publicKey] }) — and publish with driftline publish --sign
publisher.key: clients then run only versions it signed.

  -o, --out FILE   where to write the private key (required; never overwritten)`;

const ED25519 = { name: "Ed25519" } as const;

/** `driftline signing create`: a key pair for `publish --sign`. */
export const signing: Command = {
  name: "signing",
  summary: "make a key pair for signing models",
  usage: USAGE,
  async run(argv) {
    const [, rest] = takeAction(argv, ["create"]);
    const { values, positionals } = parse(rest, { out: { type: "string", short: "o" } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the key file is -o FILE`);
    if (!values.out) throw new UsageError("missing -o/--out FILE");
    if (existsSync(values.out)) throw new CliError(`${values.out} exists; a signing key is never overwritten`);
    const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).toString("base64");
    const publicKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
    writeFileSync(values.out, `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
    writeFileSync(`${values.out}.pub`, `${publicKey}\n`);
    console.error(`private key: ${values.out} (keep it secret); public key: ${values.out}.pub`);
    console.log(publicKey);
  },
};

/**
 * Reads a private key `signing create` wrote: the key, and its public key (base64url).
 *
 * @param path - the key file
 */
export async function readSigningKey(path: string): Promise<{ privateKey: CryptoKey; publicKey: string }> {
  const pem = readTextFile(path, "the signing key");
  const body = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem)?.[1];
  try {
    const key = await crypto.subtle.importKey("pkcs8", Buffer.from(body ?? "", "base64"), ED25519, true, ["sign"]);
    const { x } = await crypto.subtle.exportKey("jwk", key);
    return { privateKey: key, publicKey: x! };
  } catch {
    throw new CliError(`${path} is not an Ed25519 private key from driftline signing create`);
  }
}
