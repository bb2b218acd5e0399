/**
 * Gzip-compressed NDJSON: one JSON value a line. `CompressionStream("gzip")` is the Workers
 * runtime's own, as in browsers.
 *
 * @param values - the lines' values
 * @returns the compressed bytes
 */
export async function gzipNdjson(values: readonly unknown[]): Promise<ArrayBuffer> {
  const text = values.map((v) => `${JSON.stringify(v)}\n`).join("");
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

/**
 * The values of a gzip-compressed NDJSON body, line by line; a line that is not JSON is
 * skipped and counted in `bad`.
 *
 * @param body - the compressed bytes as a stream
 * @param bad - incremented per unreadable line
 */
export async function* readGzipNdjson(body: ReadableStream<Uint8Array>, bad: { lines: number }): AsyncGenerator<unknown> {
  let rest = "";
  const lines = function* (text: string) {
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        yield JSON.parse(line) as unknown;
      } catch {
        bad.lines++;
      }
    }
  };
  for await (const chunk of body.pipeThrough(new DecompressionStream("gzip")).pipeThrough(new TextDecoderStream())) {
    const text = rest + chunk;
    const end = text.lastIndexOf("\n");
    rest = text.slice(end + 1);
    yield* lines(text.slice(0, end + 1));
  }
  yield* lines(rest);
}
