import { openTable, type Cell, type OpenOptions } from "../../../../cli/tables/index.ts";

/** Every row of a table file with its columns and each row's position. */
export async function readAll(path: string, options?: OpenOptions): Promise<{ columns: string[]; rows: Cell[][]; positions: number[] }> {
  const table = await openTable(path, options);
  const rows: Cell[][] = [];
  const positions: number[] = [];
  for await (const batch of table.batches()) {
    rows.push(...batch.rows);
    positions.push(...batch.positions);
  }
  return { columns: table.columns, rows, positions };
}
