import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openTable } from "../../../../cli/tables/index.ts";
import { readAll } from "./read-all.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("CSV (Papa Parse)", () => {
  it("splits quoted fields with commas, doubled quotes and empty fields", async () => {
    const { rows } = await readAll(file("quotes.csv", 'a,b,c,d,e\na,"b,c","say ""hi""",,e\n'));
    expect(rows).toEqual([["a", "b,c", 'say "hi"', "", "e"]]);
  });

  it("reads CRLF files, quoted newlines, and keeps each record's starting line", async () => {
    const path = file("q.csv", 'id,note,n\r\n1,plain,3\r\n2,"two\nlines",4\r\n3,"x",5\r\n');
    const { columns, rows, positions } = await readAll(path);
    expect(columns).toEqual(["id", "note", "n"]);
    expect(rows).toEqual([
      ["1", "plain", "3"],
      ["2", "two\nlines", "4"],
      ["3", "x", "5"],
    ]);
    expect(positions).toEqual([2, 3, 5]);
  });

  it("skips empty lines, drops a byte order mark, and counts lines across quoted line ends", async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const path = file("crlf.csv", Buffer.concat([bom, Buffer.from('a,b\r\n1,2\r\n\r\n\r\n3,"x\r\ny"\r\n4,5')]));
    const { columns, rows, positions } = await readAll(path);
    expect(columns).toEqual(["a", "b"]);
    expect(rows).toEqual([
      ["1", "2"],
      ["3", "x\r\ny"],
      ["4", "5"],
    ]);
    expect(positions).toEqual([2, 5, 7]);
  });

  it("reads a file of several parse chunks, in batches, with lines counted across them", async () => {
    // every 1,000th record spans two lines
    const body = Array.from({ length: 60_000 }, (_, i) => `${i},"v${i % 1000 ? " " : "\n"}${i}",${i * 2}`).join("\n");
    const table = await openTable(file("big.csv", `a,b,c\n${body}\n`));
    const sizes: number[] = [];
    for await (const batch of table.batches()) sizes.push(batch.rows.length);
    expect(Math.max(...sizes)).toBe(4096);
    const { rows, positions } = await readAll(file("big.csv", `a,b,c\n${body}\n`));
    expect(rows.length).toBe(60_000);
    expect(rows[59_999]).toEqual(["59999", "v 59999", "119998"]);
    expect(rows[59_000]).toEqual(["59000", "v\n59000", "118000"]);
    expect(positions[59_000]).toBe(59_002 + 59);
    expect(positions[59_999]).toBe(60_001 + 60);
  });

  it("names the line of a row with the wrong number of fields", async () => {
    await expect(readAll(file("bad.csv", "a,b\n1,2\n3\n"))).rejects.toThrow(/bad\.csv:3: 1 fields, the header has 2/);
    await expect(readAll(file("after-quote.csv", 'a,b\n"1\n2",3\n4,5,6\n'))).rejects.toThrow(/after-quote\.csv:4: 3 fields, the header has 2/);
  });

  it("says where a quote does not close or is followed by more than a comma", async () => {
    await expect(readAll(file("open.csv", 'a,b\n1,2\n3,"four\n5,6\n'))).rejects.toThrow(/open\.csv:3: Quoted field unterminated/);
    await expect(readAll(file("stray.csv", 'a,b\n1,2\n3,"x"y\n5,6\n'))).rejects.toThrow(/stray\.csv:3: Trailing quote on quoted field is malformed/);
  });

  it("rejects an empty file, a directory, and empty or duplicate header names", async () => {
    await expect(openTable(file("empty.csv", ""))).rejects.toThrow(/is empty/);
    await expect(openTable(file("dup.csv", "a,b,a\n1,2,3\n"))).rejects.toThrow(/column "a" appears twice/);
    await expect(openTable(file("blank.csv", "a,,c\n1,2,3\n"))).rejects.toThrow(/empty column name/);
    await expect(openTable(join(dir, "missing.csv"))).rejects.toThrow(/no such file/);
    await expect(openTable(dir)).rejects.toThrow(/not a file/);
  });

  it("keeps a character whose bytes straddle two 1 MiB reads whole", async () => {
    // "é" is two bytes in UTF-8: the first is the last byte of the first read, the second starts the next
    const head = "a,b\n";
    const filler = "1,x\n".repeat(Math.floor((2 ** 20 - 64) / 4));
    const pad = 2 ** 20 - 1 - Buffer.byteLength(head + filler) - "2,caf".length - "3,\n".length;
    const text = `${head}${filler}3,${"y".repeat(pad)}\n2,café\n4,x\n`;
    expect(Buffer.from(text).indexOf(Buffer.from("é"))).toBe(2 ** 20 - 1);
    const { rows } = await readAll(file("straddle.csv", text));
    expect(rows.at(-2)).toEqual(["2", "café"]);
  });

  it("names the line of bytes that are not UTF-8 (a Latin-1 file)", async () => {
    const latin1 = Buffer.concat([Buffer.from("a,b\n1,x\n2,caf"), Buffer.from([0xe9]), Buffer.from("\n3,y\n")]);
    await expect(readAll(file("latin1.csv", latin1))).rejects.toThrow(/latin1\.csv:3: not UTF-8 text/);
    await expect(readAll(file("cut.csv", Buffer.concat([Buffer.from("a,b\n1,x\n2,"), Buffer.from([0xc3])])))).rejects.toThrow(/cut\.csv:3: not UTF-8 text/);
  });

  it("reads any other extension as CSV unless told otherwise", async () => {
    expect((await readAll(file("t.txt", "a\n1\n"))).rows).toEqual([["1"]]);
    expect((await readAll(file("t.data", '{"a":1}\n'), { format: "ndjson" })).rows).toEqual([[1]]);
  });
});
