/**
 * Names as one line, the first `shown` of them and a count of the rest: "a, b, c and 7 more".
 * The dashboard and the collector's alert posts name many features this way.
 *
 * @param names - the names, in the order to list them
 * @param shown - how many to name @defaultValue 10
 * @example
 * firstNames(["a", "b", "c"], 2) // "a, b and 1 more"
 */
export function firstNames(names: readonly string[], shown = 10): string {
  const more = names.length > shown ? ` and ${names.length - shown} more` : "";
  return names.slice(0, shown).join(", ") + more;
}
