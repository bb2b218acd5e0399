/** A satisfiable byte range: `offset` and `length` within the object. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * The one byte range a `Range` header asks of an object of `size` bytes: a range, `"unsatisfiable"`
 * (answer 416), or undefined when there is no header or it is not a single `bytes=` range
 * (RFC 9110 lets a server ignore those and send the whole object).
 *
 * @param header - the Range header, if any
 * @param size - the object's size in bytes
 * @example
 * parseRange("bytes=100-", 1000) // { offset: 100, length: 900 }
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return undefined;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Math.min(Number(last), size);
    return suffix === 0 ? "unsatisfiable" : { offset: size - suffix, length: suffix };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return undefined;
  return { offset: start, length: end - start + 1 };
}

/**
 * Whether an `If-None-Match` header matches `etag` (weak comparison, `*` matches anything).
 *
 * @param header - the If-None-Match header, if any
 * @param etag - the current entity tag, quoted
 */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim().replace(/^W\//, "");
    return t === "*" || t === etag;
  });
}
