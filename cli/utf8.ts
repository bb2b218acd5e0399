import { isUtf8 } from "node:buffer";

const NEWLINE = 0x0a;

/**
 * The line (from 1) of the first bytes of `bytes` that are not UTF-8, or undefined when all are.
 * A line end is one byte no UTF-8 character holds, so each line is UTF-8 or not by itself.
 *
 * @param bytes - whole characters (a stream cuts them where a read ends: see cli/tables/utf8-text.ts)
 */
export function nonUtf8Line(bytes: Buffer): number | undefined {
  if (isUtf8(bytes)) return undefined;
  let line = 1;
  let start = 0;
  for (let end = bytes.indexOf(NEWLINE); end >= 0 && isUtf8(bytes.subarray(start, end)); end = bytes.indexOf(NEWLINE, start)) {
    line++;
    start = end + 1;
  }
  return line;
}

/**
 * How many line ends `bytes` holds.
 *
 * @param bytes - the bytes
 */
export function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  return lines;
}

/**
 * What to say of a file that is not UTF-8, at its first bad line: a Latin-1 or Windows-1252 export
 * read as UTF-8 would put U+FFFD in the profile, which no page's values match.
 *
 * @param path - the file
 * @param line - the line
 */
export const notUtf8 = (path: string, line: number): string => `${path}:${line}: not UTF-8 text (a Latin-1 or Windows-1252 export?): convert the file to UTF-8, e.g. with iconv -f cp1252 -t utf-8`;
