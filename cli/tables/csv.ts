import { createReadStream } from "node:fs";
import { CsvError, type Options, parse } from "csv-parse";
import { CliError } from "../args.ts";
import { type PlacedRow, type Table, checkColumns, streamedTable } from "./table.ts";

/**
 * Opens a CSV file (RFC 4180: a header row, commas, double-quoted fields that may span lines;
 * `\n` or `\r\n` line ends; a UTF-8 byte order mark is dropped; empty lines are skipped), parsed
 * by csv-parse as it streams. Cells are strings, "" when empty. A row whose field count differs
 * from the header's, or a quote that does not close, throws a CliError naming the line (lines as
 * csv-parse counts them: a `\r\n` inside a quoted field counts as two).
 *
 * @param path - the file
 * @param bytes - its size
 */
export async function openCsv(path: string, bytes: number): Promise<Table> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const records = readRecords(path, file);
  const header = await records.next();
  if (header.done) throw new CliError(`${path} is empty`);
  const columns = header.value.cells;
  checkColumns(path, columns);
  return streamedTable(path, columns, bytes, file, records);
}

async function* readRecords(path: string, file: NodeJS.ReadableStream): AsyncGenerator<PlacedRow & { cells: string[] }> {
  // A record starts on the line after the previous one ended, past the empty lines skipped between.
  let ended = 0;
  let emptyLines = 0;
  let width: number | undefined; // the header's
  const options: Options<PlacedRow, string[]> = {
    bom: true,
    record_delimiter: ["\r\n", "\n"],
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (cells: string[], context): PlacedRow => {
      const position = ended + 1 + context.empty_lines - emptyLines;
      ended = context.lines;
      emptyLines = context.empty_lines;
      width ??= cells.length;
      if (cells.length !== width) throw new CliError(`${path}:${position}: ${cells.length} fields, the header has ${width}`);
      return { cells, position };
    },
  };
  // csv-parse's parse() types on_record as returning the record's own type
  const parser = parse(options as unknown as Options);
  file.on("error", (error) => parser.destroy(error));
  try {
    yield* file.pipe(parser) as AsyncIterable<PlacedRow & { cells: string[] }>;
  } catch (error) {
    // csv-parse's messages name the line ("Quote Not Closed: … at line 9")
    if (error instanceof CsvError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
}
