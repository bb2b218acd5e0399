/**
 * The real D1 database, except that the `nth` statement prepared whose SQL matches `match` is one
 * that fails when it runs: alone it throws; in a batch D1 rolls the whole batch back.
 *
 * @param real - the test's D1 binding
 * @param match - which statements count
 * @param nth - which of them fails (1-based)
 */
export function failingD1(real: D1Database, match: RegExp, nth = 1): D1Database {
  let seen = 0;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => target.prepare(match.test(query) && ++seen === nth ? "insert into no_such_table values (?1)" : query);
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
