import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-ndjson-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("NDJSON", () => {
  it("reads objects by the first object's keys, nulls for absent fields, each with its line", async () => {
    const { columns, rows, positions } = await readAll(file("t.ndjson", '{"a":1,"b":"x"}\r\n{"b":"y"}\n\n{"a":2.5,"b":null}\n'));
    expect(columns).toEqual(["a", "b"]);
    expect(rows).toEqual([
      [1, "x"],
      [null, "y"],
      [2.5, null],
    ]);
    expect(positions).toEqual([1, 2, 4]);
  });

  it("names the line of invalid JSON, an unknown field or a nested value", async () => {
    await expect(readAll(file("bad.ndjson", '{"a":1}\n{"a":\n'))).rejects.toThrow(/bad\.ndjson:2: not valid JSON/);
    await expect(readAll(file("extra.jsonl", '{"a":1}\n{"a":1,"z":2}\n'))).rejects.toThrow(/extra\.jsonl:2: field "z"/);
    await expect(readAll(file("nested.ndjson", '{"a":1}\n\n{"a":[1]}\n'))).rejects.toThrow(/nested\.ndjson:3: field "a" is a nested array/);
    await expect(readAll(file("empty.ndjson", "\n\n"))).rejects.toThrow(/is empty/);
  });

  it("names the line of bytes that are not UTF-8 (a Latin-1 file)", async () => {
    const latin1 = Buffer.concat([Buffer.from('{"a":"x"}\n{"a":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]);
    await expect(readAll(file("latin1.ndjson", latin1))).rejects.toThrow(/latin1\.ndjson:2: not UTF-8 text/);
  });
});
