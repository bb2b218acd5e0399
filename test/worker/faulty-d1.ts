/**
 * The real D1 database, except that the `nth` statement bound (drizzle binds every statement it
 * runs) for which `match` holds fails when it runs: alone it throws; in a batch D1 rolls the
 * whole batch back.
 *
 * @param real - the test's D1 binding
 * @param match - which statements count, by their SQL and parameters
 * @param nth - which of them fails (1-based)
 */
export function failingD1(real: D1Database, match: (query: string, params: unknown[]) => boolean, nth = 1): D1Database {
  let seen = 0;
  const forward = <T extends object>(target: T, prop: string | symbol) => {
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  };
  return new Proxy(real, {
    get(target, prop) {
      if (prop !== "prepare") return forward(target, prop);
      return (query: string) =>
        new Proxy(target.prepare(query), {
          get(statement, key) {
            if (key !== "bind") return forward(statement, key);
            return (...params: unknown[]) => (match(query, params) && ++seen === nth ? target.prepare("insert into no_such_table values (?1)").bind(null) : statement.bind(...params));
          },
        });
    },
  });
}
