import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";
import Papa from "papaparse";
import { CliError } from "../args.ts";
import { BATCH_ROWS, type RowBatch, type Table, checkColumns, streamedTable } from "./table.ts";
import { Utf8Text } from "./utf8-text.ts";

/**
 * Opens a CSV file (RFC 4180: a header row, commas, double-quoted fields that may span lines,
 * `""` for a quote inside one; the line end `\n`, `\r\n` or `\r` as the file's start has it; a
 * UTF-8 byte order mark is dropped; empty lines are skipped), parsed by Papa Parse as it streams,
 * about 1 MiB at a time. Cells are strings, "" when empty. A row whose field count differs from
 * the header's, a malformed or unclosed quote, or bytes that are not UTF-8 throw a CliError naming
 * the line.
 *
 * @param path - the file
 * @param bytes - its size
 */
export async function openCsv(path: string, bytes: number): Promise<Table> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  // errors of the file reach the text stream, which Papa Parse reads
  const chunks = parsedChunks(pipeline(file, new Utf8Text(path), () => {}));
  let line = 1; // the line the next row starts on
  let columns: string[] | undefined;
  // Rows of the chunk that holds the header
  const rest: RowBatch = { rows: [], positions: [] };
  while (columns === undefined) {
    const chunk = await chunks.next();
    if (chunk.done) throw new CliError(`${path} is empty`);
    line = place(path, chunk.value, line, rest);
    columns = rest.rows.shift() as string[] | undefined;
    rest.positions.shift();
  }
  if (columns[0]?.startsWith("\ufeff")) columns[0] = columns[0].slice(1);
  checkColumns(path, columns);
  const width = columns.length;
  const checkWidth = (batch: RowBatch) => {
    batch.rows.forEach((row, r) => {
      if (row.length !== width) throw new CliError(`${path}:${batch.positions[r]}: ${row.length} fields, the header has ${width}`);
    });
  };

  async function* batches(): AsyncGenerator<RowBatch> {
    checkWidth(rest);
    yield* split(rest);
    for await (const chunk of chunks) {
      const batch: RowBatch = { rows: [], positions: [] };
      line = place(path, chunk, line, batch);
      checkWidth(batch);
      yield* split(batch);
    }
  }

  return streamedTable(path, columns, bytes, file, batches);
}

/**
 * Adds a parsed chunk's rows to `batch` with the line each starts on, skipping empty lines; throws
 * on the chunk's first parse error. Answers the line after the chunk.
 */
function place(path: string, chunk: Papa.ParseResult<string[]>, line: number, batch: RowBatch): number {
  const starts: number[] = [];
  for (const row of chunk.data) {
    starts.push(line);
    line++;
    // a quoted field may span lines
    for (const cell of row) for (let at = cell.indexOf("\n"); at >= 0; at = cell.indexOf("\n", at + 1)) line++;
    if (row.length === 1 && row[0] === "") continue;
    batch.rows.push(row);
    batch.positions.push(starts[starts.length - 1]!);
  }
  const error = chunk.errors[0];
  if (error) throw new CliError(`${path}:${starts[error.row ?? 0] ?? line}: ${error.message}`);
  return line;
}

/** Splits a batch into batches of at most {@link BATCH_ROWS} rows. */
function* split(batch: RowBatch): Generator<RowBatch> {
  if (batch.rows.length <= BATCH_ROWS) {
    if (batch.rows.length > 0) yield batch;
    return;
  }
  for (let start = 0; start < batch.rows.length; start += BATCH_ROWS) {
    yield { rows: batch.rows.slice(start, start + BATCH_ROWS), positions: batch.positions.slice(start, start + BATCH_ROWS) };
  }
}

/** Papa Parse's chunks of a text stream, one at a time: the parser is paused until the next is asked for. */
async function* parsedChunks(text: NodeJS.ReadableStream): AsyncGenerator<Papa.ParseResult<string[]>> {
  const ready: Papa.ParseResult<string[]>[] = [];
  let parser: Papa.Parser | undefined;
  let finished = false;
  let failure: unknown;
  let wake = () => {};
  Papa.parse<string[]>(text, {
    delimiter: ",",
    chunk(result, p) {
      parser = p;
      p.pause();
      ready.push(result);
      wake();
    },
    complete() {
      finished = true;
      wake();
    },
    error(error: unknown) {
      failure = error;
      wake();
    },
  });
  text.on("error", (error) => {
    failure = error;
    wake();
  });
  for (;;) {
    const next = ready.shift();
    if (next) {
      yield next;
      continue;
    }
    if (failure !== undefined) throw failure;
    if (finished) return;
    const waiting = new Promise<void>((resolve) => (wake = resolve));
    parser?.resume();
    await waiting;
  }
}
