import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openTable } from "../../../../cli/tables/index.ts";
import { readAll } from "./read-all.ts";

// Written by DuckDB, not by us: test/fixtures/tables/write-with-duckdb.mjs
const fixtures = new URL("../../../fixtures/tables/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "driftline-parquet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Parquet (hyparquet)", () => {
  it("reads the same rows as the NDJSON of the same table, with every codec DuckDB writes", async () => {
    const ndjson = await readAll(join(fixtures, "rows.ndjson"));
    for (const codec of ["snappy", "zstd", "gzip"]) {
      const parquet = await readAll(join(fixtures, `rows-${codec}.parquet`));
      expect(parquet.columns).toEqual(["id", "tenure", "spend", "visits", "plan", "active", "score", "ratio", "half"]);
      // INT64 as numbers, DECIMAL(…,2) as the double its text names (13.37, not 13.370000000000001)
      expect(parquet.rows.slice(0, 2)).toEqual([
        ["u0", null, 0, 0, null, true, -0.029999999, -70, 0],
        ["u1", 7, 13.37, 1, "team", false, -0.0299, -69.85714285714286, 0.125],
      ]);
      expect(parquet.rows).toEqual(ndjson.rows);
      expect(parquet.positions).toEqual(ndjson.rows.map((_, i) => i + 1));
    }
  });

  it("reads one row group at a time, progress at the end of each", async () => {
    const table = await openTable(join(fixtures, "rows-zstd.parquet"));
    const sizes: number[] = [];
    const progress: number[] = [];
    for await (const batch of table.batches()) {
      sizes.push(batch.rows.length);
      progress.push(table.bytesRead);
    }
    expect(sizes).toEqual([150, 150, 150, 150]); // the file's four row groups, though a batch may hold 4,096 rows
    expect(progress[0]).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBe(4);
    expect(progress[3]).toBeLessThan(table.bytes); // the footer follows
    expect(table.bytesRead).toBe(table.bytes);
  });

  it("refuses nested columns unless they are skipped; timestamps read as ISO-8601 text", async () => {
    const path = join(fixtures, "kinds.parquet");
    await expect(openTable(path)).rejects.toThrow(/kinds\.parquet: column "tags" is nested \(LIST\); profile reads flat columns only \(leave it out with --exclude\)/);
    await expect(openTable(path, { skip: ["tags"] })).rejects.toThrow(/column "point" is nested/);
    const { columns, rows } = await readAll(path, { skip: ["tags", "point"] });
    expect(columns).toEqual(["n", "tags", "point", "seen"]);
    expect(rows[1]).toEqual([1, null, null, "2024-05-01T13:00:00.000Z"]);
  });

  it("says which file is not Parquet, is cut short, or has a row group that cannot be read", async () => {
    const bytes = readFileSync(join(fixtures, "rows-zstd.parquet"));
    const notParquet = join(dir, "rows.parquet");
    writeFileSync(notParquet, readFileSync(join(fixtures, "rows.csv")));
    await expect(openTable(notParquet)).rejects.toThrow(/rows\.parquet cannot be read as Parquet: parquet file invalid/);

    const cut = join(dir, "cut.parquet");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
    await expect(openTable(cut)).rejects.toThrow(/cut\.parquet cannot be read as Parquet/);

    // zero a stretch in the middle of the file: the second row group's pages
    const damaged = Buffer.from(bytes);
    damaged.fill(0, Math.floor(bytes.length * 0.35), Math.floor(bytes.length * 0.45));
    const path = join(dir, "damaged.parquet");
    writeFileSync(path, damaged);
    await expect(readAll(path)).rejects.toThrow(/damaged\.parquet: row group [23] of 4 cannot be read: /);
  });

  it("reads a .parquet file as CSV only when told to", async () => {
    const path = join(dir, "really.parquet");
    writeFileSync(path, "a,b\n1,2\n");
    await expect(openTable(path)).rejects.toThrow(/cannot be read as Parquet/);
    expect((await readAll(path, { format: "csv" })).rows).toEqual([["1", "2"]]);
  });
});
