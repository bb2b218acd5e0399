import { type ColumnData, type FileMetaData, type RowGroup, type SchemaElement, asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { CliError } from "../args.ts";
import { BATCH_ROWS, type Cell, type RowBatch, type Table, checkColumns } from "./table.ts";

/**
 * Opens a Parquet file with hyparquet (every codec through hyparquet-compressors: Snappy, gzip,
 * ZSTD, Brotli, LZ4). Reads one row group at a time, so memory holds one row group's columns
 * (plus one batch of rows), never the whole file's rows.
 *
 * Columns are the schema's top-level fields. Cells: numbers (INT64 as the nearest double;
 * DECIMAL as the double nearest its decimal text, as a CSV reader gets it; FLOAT as its exact
 * float32 value), strings, booleans, null; dates and timestamps as ISO-8601 text. A nested
 * column (list, map, struct) throws a CliError unless it is in `skip`, and so does a file that is
 * not Parquet, is cut short, or uses a codec no reader has (LZO).
 *
 * @param path - the file
 * @param bytes - its size
 * @param skip - columns not to read: their cells are null (the profile leaves them out)
 */
export async function openParquet(path: string, bytes: number, skip: readonly string[]): Promise<Table> {
  const file = await asyncBufferFromFile(path);
  let bytesRead = 0; // up to the end of the last row group read
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new CliError(`${path} cannot be read as Parquet: ${messageOf(error)}`);
  }
  const fields = parquetSchema(metadata).children;
  const columns = fields.map((f) => f.element.name);
  checkColumns(path, columns);
  const read = fields.filter((f) => !skip.includes(f.element.name));
  for (const field of read) {
    if (field.children.length > 0 || field.element.repetition_type === "REPEATED") {
      const kind = field.element.logical_type?.type ?? field.element.converted_type ?? "struct";
      throw new CliError(`${path}: column "${field.element.name}" is nested (${kind}); profile reads flat columns only (leave it out with --exclude)`);
    }
  }
  const where = (row: number) => `${path} row ${row}`;
  const readers = read.map((f) => ({ name: f.element.name, at: columns.indexOf(f.element.name), toCell: cellReader(f.element) }));

  async function* batches(): AsyncGenerator<RowBatch> {
    if (readers.length === 0) return;
    let groupStart = 0;
    for (const [g, group] of metadata.row_groups.entries()) {
      const rows = Number(group.num_rows);
      const data = await readGroup(groupStart, rows, g);
      bytesRead = groupEnd(group);
      for (let start = 0; start < rows; start += BATCH_ROWS) {
        const end = Math.min(rows, start + BATCH_ROWS);
        const batch: RowBatch = { rows: [], positions: [] };
        for (let r = start; r < end; r++) {
          batch.rows.push(new Array<Cell>(columns.length).fill(null));
          batch.positions.push(groupStart + r + 1);
        }
        readers.forEach(({ name, at, toCell }, c) => {
          const values = data[c]!;
          for (let r = start; r < end; r++) {
            const cell = toCell(values[r]);
            if (cell === undefined)
              throw new CliError(`${where(groupStart + r + 1)}: column "${name}" holds ${describe(values[r])}, expected a number, string or boolean (leave it out with --exclude)`);
            batch.rows[r - start]![at] = cell;
          }
        });
        yield batch;
      }
      groupStart += rows;
    }
    bytesRead = bytes;
  }

  /** One row group's columns, in the order of `readers`. */
  async function readGroup(groupStart: number, rows: number, g: number): Promise<unknown[][]> {
    const data = readers.map(() => new Array<unknown>(rows));
    const index = new Map(readers.map((r, c) => [r.name, c]));
    const place = (chunk: ColumnData) => {
      const values = data[index.get(chunk.columnName)!]!;
      for (let i = 0; i < chunk.columnData.length; i++) {
        const r = chunk.rowStart - groupStart + i;
        if (r >= 0 && r < rows) values[r] = chunk.columnData[i];
      }
    };
    try {
      await parquetRead({ file, metadata, compressors, columns: readers.map((r) => r.name), rowStart: groupStart, rowEnd: groupStart + rows, onChunk: place });
    } catch (error) {
      throw new CliError(`${path}: row group ${g + 1} of ${metadata.row_groups.length} cannot be read: ${messageOf(error)}`);
    }
    return data;
  }

  return {
    path,
    columns,
    bytes,
    get bytesRead() {
      return bytesRead;
    },
    where,
    batches,
  };
}

/** Where a row group's last column chunk ends in the file. */
function groupEnd(group: RowGroup): number {
  let end = 0;
  for (const { meta_data: chunk } of group.columns) {
    if (chunk) end = Math.max(end, Number(chunk.dictionary_page_offset ?? chunk.data_page_offset) + Number(chunk.total_compressed_size));
  }
  return end;
}

/** How a column's values become cells; `undefined` for a value that is not one. */
function cellReader(element: SchemaElement): (value: unknown) => Cell | undefined {
  const decimal = element.logical_type?.type === "DECIMAL" || element.converted_type === "DECIMAL";
  if (decimal) {
    // hyparquet multiplies by 10^-scale, which can miss the nearest double (13.370000000000001)
    const scale = 10 ** (element.scale ?? 0);
    return (value) => (value === null || value === undefined ? null : Math.round((value as number) * scale) / scale);
  }
  return toCell;
}

function toCell(value: unknown): Cell | undefined {
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
      return value;
    case "bigint":
      return Number(value);
    case "undefined":
      return null;
  }
  if (value === null) return null;
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "binary data";
  return `a ${typeof value}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
