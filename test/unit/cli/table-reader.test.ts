import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openTable, splitCsv, type Cell } from "../../../cli/table-reader.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-table-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function readAll(path: string): Promise<{ columns: string[]; rows: Cell[][]; lines: number[] }> {
  const table = await openTable(path);
  const rows: Cell[][] = [];
  const lines: number[] = [];
  for await (const batch of table.batches()) {
    rows.push(...batch.rows);
    lines.push(...batch.lines);
  }
  return { columns: table.columns, rows, lines };
}

describe("CSV", () => {
  it("splits quoted fields with commas, doubled quotes and empty fields", () => {
    expect(splitCsv('a,"b,c","say ""hi""",,e', "x.csv", 1)).toEqual(["a", "b,c", 'say "hi"', "", "e"]);
  });

  it("reads CRLF files, quoted newlines, and keeps each record's starting line", async () => {
    const path = file("q.csv", 'id,note,n\r\n1,plain,3\r\n2,"two\nlines",4\r\n3,"x",5\r\n');
    const { columns, rows, lines } = await readAll(path);
    expect(columns).toEqual(["id", "note", "n"]);
    expect(rows).toEqual([["1", "plain", "3"], ["2", "two\nlines", "4"], ["3", "x", "5"]]);
    expect(lines).toEqual([2, 3, 5]);
  });

  it("reads a file larger than one read chunk with a record across the boundary", async () => {
    const body = Array.from({ length: 60_000 }, (_, i) => `${i},"v ${i}",${i * 2}`).join("\n");
    const { rows } = await readAll(file("big.csv", `a,b,c\n${body}\n`));
    expect(rows.length).toBe(60_000);
    expect(rows[59_999]).toEqual(["59999", "v 59999", "119998"]);
  });

  it("names the line of a row with the wrong number of fields", async () => {
    await expect(readAll(file("bad.csv", "a,b\n1,2\n3\n"))).rejects.toThrow(/bad\.csv:3: 1 fields, the header has 2/);
  });

  it("rejects an empty file and duplicate header names", async () => {
    await expect(openTable(file("empty.csv", ""))).rejects.toThrow(/is empty/);
    await expect(openTable(file("dup.csv", "a,b,a\n1,2,3\n"))).rejects.toThrow(/column "a" appears twice/);
    await expect(openTable(join(dir, "missing.csv"))).rejects.toThrow(/no such file/);
  });
});

describe("NDJSON", () => {
  it("reads objects by the first object's keys, nulls for absent fields", async () => {
    const { columns, rows } = await readAll(file("t.ndjson", '{"a":1,"b":"x"}\n{"b":"y"}\n\n{"a":2.5,"b":null}\n'));
    expect(columns).toEqual(["a", "b"]);
    expect(rows).toEqual([[1, "x"], [null, "y"], [2.5, null]]);
  });

  it("names the line of invalid JSON or an unknown field", async () => {
    await expect(readAll(file("bad.ndjson", '{"a":1}\n{"a":\n'))).rejects.toThrow(/bad\.ndjson:2: not valid JSON/);
    await expect(readAll(file("extra.ndjson", '{"a":1}\n{"a":1,"z":2}\n'))).rejects.toThrow(/extra\.ndjson:2: field "z"/);
  });
});
