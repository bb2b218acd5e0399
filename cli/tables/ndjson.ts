import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream";
import { CliError } from "../args.ts";
import { type Cell, type PlacedRow, type Table, batched, checkColumns, streamedTable } from "./table.ts";
import { Utf8Text } from "./utf8-text.ts";

/**
 * Opens an NDJSON file: one JSON object per line (blank lines skipped), columns named by the first
 * object's keys; a later object may leave keys out (null) but not add any. A line that is not a
 * JSON object or not UTF-8, an unknown key or a nested value throws a CliError naming the line.
 *
 * @param path - the file
 * @param bytes - its size
 */
export async function openNdjson(path: string, bytes: number): Promise<Table> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const lines = nonBlankLines(pipeline(file, new Utf8Text(path), () => {}));
  const first = await lines.next();
  if (first.done) throw new CliError(`${path} is empty`);
  const head = first.value;
  const columns = Object.keys(parseObject(path, head));
  checkColumns(path, columns);
  const row = (line: Line): PlacedRow => ({ cells: toCells(path, line, columns), position: line.position });
  async function* rows(): AsyncGenerator<PlacedRow> {
    yield row(head); // the first line is data too
    for await (const line of lines) yield row(line);
  }
  return streamedTable(path, columns, bytes, file, () => batched(rows()));
}

/** A line of the file and its number. */
interface Line {
  text: string;
  position: number;
}

async function* nonBlankLines(input: NodeJS.ReadableStream): AsyncGenerator<Line> {
  let position = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    position++;
    if (text.trim() !== "") yield { text, position };
  }
}

function parseObject(path: string, { text, position }: Line): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path}:${position}: not valid JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new CliError(`${path}:${position}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function toCells(path: string, line: Line, columns: string[]): Cell[] {
  const object = parseObject(path, line);
  for (const key in object) {
    if (!columns.includes(key)) throw new CliError(`${path}:${line.position}: field "${key}" is not in the first row's fields`);
  }
  return columns.map((c) => {
    const v = object[c];
    if (v === undefined || v === null) return null;
    if (typeof v === "object") throw new CliError(`${path}:${line.position}: field "${c}" is a nested ${Array.isArray(v) ? "array" : "object"}, expected a number, string or boolean`);
    return v as Cell;
  });
}
