import type { ReadStream } from "node:fs";
import { CliError } from "../args.ts";

/** One cell: CSV gives strings ("" when empty); NDJSON and Parquet give numbers, strings, booleans or null. */
export type Cell = string | number | boolean | null;

/** A batch of rows, each with its position in the file (see {@link Table.where}). */
export interface RowBatch {
  rows: Cell[][];
  /** Each row's position: the line it starts on in CSV and NDJSON (a CSV header is line 1), the row number from 1 in Parquet. */
  positions: number[];
}

/** A table file being read, one batch of rows at a time. */
export interface Table {
  /** The file, for messages. */
  path: string;
  /** Column names: the CSV header, the first NDJSON object's keys, the Parquet schema's top-level fields. */
  columns: string[];
  /** The file's size in bytes, for progress. */
  bytes: number;
  /** The rows in batches; `bytesRead` grows as they come. */
  batches(): AsyncGenerator<RowBatch>;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /**
   * Names a row's place for a message: `train.csv:3` (a line) or `train.parquet row 3`.
   *
   * @param position - from {@link RowBatch.positions}
   */
  where(position: number): string;
}

/** Rows per batch that the readers hand out. */
export const BATCH_ROWS = 4096;

/**
 * Throws a CliError when a header has no columns, an empty name or a name twice.
 *
 * @param path - the file, for the message
 * @param columns - the names
 */
export function checkColumns(path: string, columns: readonly string[]): void {
  if (columns.length === 0 || columns.some((c) => c === "")) throw new CliError(`${path}: empty column name in the header`);
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) throw new CliError(`${path}: column "${duplicate}" appears twice in the header`);
}

/** A row and its position (see {@link RowBatch.positions}). */
export interface PlacedRow {
  cells: Cell[];
  position: number;
}

/**
 * The Table of a text file read as a stream (CSV, NDJSON): rows placed by line, progress the
 * bytes the stream has read.
 *
 * @param path - the file
 * @param columns - its column names
 * @param bytes - its size
 * @param file - the stream the rows come from
 * @param batches - the data rows in batches, placed by the line each starts on
 */
export function streamedTable(path: string, columns: string[], bytes: number, file: ReadStream, batches: () => AsyncGenerator<RowBatch>): Table {
  return {
    path,
    columns,
    bytes,
    get bytesRead() {
      return file.bytesRead;
    },
    where: (line) => `${path}:${line}`,
    batches,
  };
}

/**
 * Groups rows into batches of {@link BATCH_ROWS}.
 *
 * @param rows - each row with its position
 */
export async function* batched(rows: AsyncIterable<PlacedRow>): AsyncGenerator<RowBatch> {
  let batch: RowBatch = { rows: [], positions: [] };
  for await (const { cells, position } of rows) {
    batch.rows.push(cells);
    batch.positions.push(position);
    if (batch.rows.length === BATCH_ROWS) {
      yield batch;
      batch = { rows: [], positions: [] };
    }
  }
  if (batch.rows.length > 0) yield batch;
}
