import { statSync } from "node:fs";
import { extname } from "node:path";
import { CliError } from "../args.ts";
import { openCsv } from "./csv.ts";
import { openNdjson } from "./ndjson.ts";
import { openParquet } from "./parquet.ts";
import type { Table } from "./table.ts";

export type { Cell, RowBatch, Table } from "./table.ts";

/** The table formats `openTable` reads. */
export const TABLE_FORMATS = ["csv", "ndjson", "parquet"] as const;

/** One of {@link TABLE_FORMATS}. */
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** How to open a table. */
export interface OpenOptions {
  /** The format. @defaultValue by extension: `.parquet`/`.pq` Parquet, `.ndjson`/`.jsonl` NDJSON, else CSV */
  format?: TableFormat;
  /** Columns that will not be used: Parquet leaves them unread. @defaultValue [] */
  skip?: readonly string[];
}

/**
 * Opens a table file to read in batches: CSV (Papa Parse), NDJSON, or Parquet (hyparquet). Errors
 * are CliErrors that name the file and, for a bad row, its line or row number.
 *
 * @param path - the file
 * @param options - format and unread columns
 * @example
 * const table = await openTable("train.parquet");
 * for await (const { rows } of table.batches()) …
 */
export async function openTable(path: string, options: OpenOptions = {}): Promise<Table> {
  let bytes: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new CliError(`cannot read ${path}: not a file`);
    bytes = stat.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${path}: no such file`);
  }
  const format = options.format ?? formatOf(path);
  if (format === "parquet") return openParquet(path, bytes, options.skip ?? []);
  if (format === "ndjson") return openNdjson(path, bytes);
  return openCsv(path, bytes);
}

/**
 * The format a file's extension names: `.parquet`/`.pq` Parquet, `.ndjson`/`.jsonl` NDJSON, else CSV.
 *
 * @param path - the file
 */
export function formatOf(path: string): TableFormat {
  const extension = extname(path).toLowerCase();
  if (extension === ".parquet" || extension === ".pq") return "parquet";
  if (extension === ".ndjson" || extension === ".jsonl") return "ndjson";
  return "csv";
}
