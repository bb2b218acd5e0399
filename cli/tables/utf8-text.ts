import { Transform, type TransformCallback } from "node:stream";
import { CliError } from "../args.ts";
import { countLines, nonUtf8Line, notUtf8 } from "../utf8.ts";

/**
 * Where the bytes of `bytes` that make whole characters end: before a last character whose
 * bytes are not all there yet (its lead byte says how many it has).
 */
function wholeCharactersEnd(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return back < length ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/**
 * A stream that turns a file's bytes into UTF-8 text, whatever read a character's bytes are cut
 * across (a stream's `toString()` of each read turns such a character into two U+FFFD), and
 * fails with a CliError naming the line of the first bytes that are not UTF-8 (`train.csv:3: not
 * UTF-8 text …`): a Latin-1 or Windows-1252 export would otherwise become U+FFFD in the profile's
 * categories, which no page's values match. Pipe the file into it and read strings out.
 */
export class Utf8Text extends Transform {
  /** Bytes of a character the next read completes. */
  private pending: Buffer = Buffer.alloc(0);
  /** The line the next bytes are on. */
  private line = 1;

  /** @param path - the file, for the error */
  constructor(private readonly path: string) {
    super({ encoding: "utf8" });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = wholeCharactersEnd(bytes);
    this.pending = bytes.subarray(end);
    done(this.check(bytes.subarray(0, end)));
  }

  override _flush(done: TransformCallback): void {
    done(this.check(this.pending));
  }

  /** Passes on `bytes` when they are UTF-8, else answers the error naming their bad line. */
  private check(bytes: Buffer): CliError | undefined {
    const bad = nonUtf8Line(bytes);
    if (bad !== undefined) return new CliError(notUtf8(this.path, this.line + bad - 1));
    this.line += countLines(bytes);
    this.push(bytes);
    return undefined;
  }
}
