/**
 * Keeps a table of an aggregator's storage to its newest `most` rows: deletes those more than
 * `most` rowids below `rowid`, the row just written. A new row's rowid is the largest one + 1, so
 * the rows deleted are the oldest written (an updated row keeps its rowid and deletes none). Call
 * it in the transaction that wrote the row.
 *
 * @param sql - the aggregator's storage
 * @param table - the table (a rowid table)
 * @param rowid - the rowid of the row just inserted or updated
 * @param most - the most rows kept
 * @returns how many rows it deleted
 */
export function keepNewest(sql: SqlStorage, table: string, rowid: number, most: number): number {
  return sql.exec(`delete from ${table} where rowid <= ? returning 1`, rowid - most).toArray().length;
}
