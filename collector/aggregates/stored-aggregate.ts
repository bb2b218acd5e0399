import { fromBase64, toBase64 } from "../../protocol/sketch/codec.ts";
import { Aggregate, type AggregatePart } from "./aggregate.ts";

// D1 hands BLOB columns back as JavaScript arrays of numbers (~7x slower to read than text of
// the same bytes), so the stored form is text: base64 of the deflated binary form.
const COMPRESSION = "deflate-raw";

async function through(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/**
 * The stored form of an aggregate: base64 of its deflated {@link Aggregate.toBytes}.
 *
 * @param aggregate - the aggregate to store
 */
export async function packAggregate(aggregate: Aggregate): Promise<string> {
  return toBase64(await through(aggregate.toBytes(), new CompressionStream(COMPRESSION)));
}

/**
 * Reads {@link packAggregate} text (or the JSON of format 1), decoding only `parts`. Text that
 * is not a stored aggregate throws (DriftlineError `decode`, a JSON or a decompression error):
 * callers quarantine or skip it.
 *
 * @param text - the stored form
 * @param parts - which sketches to decode
 */
export async function unpackAggregate(text: string, parts?: readonly AggregatePart[]): Promise<Aggregate> {
  if (text.startsWith("{")) return Aggregate.fromJson(text, parts);
  return Aggregate.fromBytes(await through(fromBase64(text), new DecompressionStream(COMPRESSION)), parts);
}
