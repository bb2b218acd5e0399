import { createReadStream, statSync } from "node:fs";
import { extname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { CliError } from "./args.ts";

/** One cell: CSV gives strings ("" when empty); NDJSON gives JSON values. */
export type Cell = string | number | boolean | null;

/** A batch of rows, each with the file line it starts on (the header is line 1). */
export interface RowBatch {
  rows: Cell[][];
  lines: number[];
}

/** A table file being read. */
export interface Table {
  /** Column names, from the CSV header or the first NDJSON object's keys. */
  columns: string[];
  /** The file's size in bytes, for progress. */
  bytes: number;
  /** The rows in batches; `bytesRead` grows as they come. */
  batches(): AsyncGenerator<RowBatch>;
  /** Bytes consumed so far. */
  readonly bytesRead: number;
}

const BATCH_ROWS = 4096;

/**
 * Opens a CSV (RFC 4180: header row, commas, double-quoted fields) or NDJSON file (one JSON
 * object per line), chosen by extension (`.ndjson`, `.jsonl` or else CSV).
 * Rows whose field count differs from the header throw a CliError naming the line.
 *
 * @param path - the file
 * @example
 * const table = await openTable("train.csv");
 * for await (const { rows } of table.batches()) …
 */
export async function openTable(path: string): Promise<Table> {
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch {
    throw new CliError(`cannot read ${path}: no such file`);
  }
  const ndjson = [".ndjson", ".jsonl"].includes(extname(path).toLowerCase());
  const lines = records(path, ndjson ? null : '"');
  const first = await lines.next();
  if (first.done) throw new CliError(`${path} is empty`);
  const columns = ndjson ? Object.keys(parseJsonLine(path, first.value.text, 1)) : splitCsv(first.value.text, path, 1);
  if (columns.length === 0 || columns.some((c) => c === "")) throw new CliError(`${path}:1: empty column name in the header`);
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate) throw new CliError(`${path}:1: column "${duplicate}" appears twice in the header`);
  const state = { bytesRead: first.value.bytesRead };
  return {
    columns,
    bytes,
    get bytesRead() {
      return state.bytesRead;
    },
    async *batches() {
      let batch: RowBatch = { rows: [], lines: [] };
      // In NDJSON the first line is data too; in CSV it is only the header.
      const all = ndjson ? prepend(first.value, lines) : lines;
      for await (const record of all) {
        state.bytesRead = record.bytesRead;
        if (record.text.trim() === "") continue;
        const row = ndjson ? jsonRow(path, record.text, record.line, columns) : splitCsv(record.text, path, record.line);
        if (row.length !== columns.length) {
          throw new CliError(`${path}:${record.line}: ${row.length} fields, the header has ${columns.length}`);
        }
        batch.rows.push(row);
        batch.lines.push(record.line);
        if (batch.rows.length === BATCH_ROWS) {
          yield batch;
          batch = { rows: [], lines: [] };
        }
      }
      if (batch.rows.length > 0) yield batch;
    },
  };
}

async function* prepend<T>(head: T, rest: AsyncIterable<T>): AsyncGenerator<T> {
  yield head;
  yield* rest;
}

/** Records of the file: lines, except that a quoted CSV field may span lines. */
async function* records(path: string, quote: string | null): AsyncGenerator<{ text: string; line: number; bytesRead: number }> {
  const decoder = new StringDecoder("utf8");
  let pending = ""; // always starts at the beginning of a record
  let line = 1; // the line that record starts on
  let bytesRead = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    bytesRead += (chunk as Buffer).length;
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    if (quote === null || pending.indexOf(quote) < 0) {
      // Fast path: with no quote every newline ends a record.
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n", start)) {
        yield { text: trimCr(pending.slice(start, nl)), line, bytesRead };
        line++;
        start = nl + 1;
      }
    } else {
      let inQuotes = false;
      let physical = line;
      for (let i = 0; i < pending.length; i++) {
        const ch = pending[i];
        if (ch === quote) inQuotes = !inQuotes;
        else if (ch === "\n") {
          physical++;
          if (!inQuotes) {
            yield { text: trimCr(pending.slice(start, i)), line, bytesRead };
            start = i + 1;
            line = physical;
          }
        }
      }
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending.length > 0) yield { text: trimCr(pending), line, bytesRead };
}

function trimCr(text: string): string {
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}

/**
 * Splits one CSV record into fields (RFC 4180 quoting: `""` inside quotes is a quote).
 *
 * @param text - the record
 * @param path - the file, for errors
 * @param line - the record's line, for errors
 */
export function splitCsv(text: string, path: string, line: number): string[] {
  if (text.indexOf('"') < 0) return text.split(",");
  const fields: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i <= text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === undefined) throw new CliError(`${path}:${line}: a quoted field is not closed`);
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === "," || ch === undefined) {
      fields.push(field);
      field = "";
    } else field += ch;
    i++;
  }
  return fields;
}

function parseJsonLine(path: string, text: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path}:${line}: not valid JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new CliError(`${path}:${line}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function jsonRow(path: string, text: string, line: number, columns: string[]): Cell[] {
  const object = parseJsonLine(path, text, line);
  for (const key of Object.keys(object)) {
    if (!columns.includes(key)) throw new CliError(`${path}:${line}: field "${key}" is not in the first row's fields`);
  }
  return columns.map((c) => {
    const v = object[c];
    if (v === undefined || v === null) return null;
    if (typeof v === "object") throw new CliError(`${path}:${line}: field "${c}" is a nested ${Array.isArray(v) ? "array" : "object"}, expected a number, string or boolean`);
    return v as Cell;
  });
}
