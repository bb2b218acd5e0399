/**
 * Lists of names as people type them: comma-separated, white space around each name ignored. A name
 * that holds a comma or a double quote, or begins or ends with white space, is written in double
 * quotes with each quote doubled, as CSV does (`"price, usd", age`), so every feature name or
 * class label a manifest allows can be listed. The CLI's list flags and the dashboard's list
 * fields read and write them.
 */

/**
 * The names of a typed list, empty ones left out.
 *
 * @param text - e.g. `tenure, "price, usd"`
 * @throws RangeError when a quoted name is not closed or text follows its closing quote
 * @example
 * parseNameList('tenure, "price, usd"') // ["tenure", "price, usd"]
 */
export function parseNameList(text: string): string[] {
  const names: string[] = [];
  let at = 0;
  const space = () => /\s/.test(text[at] ?? "");
  while (at <= text.length) {
    while (space()) at++;
    let name: string;
    if (text[at] === '"') {
      const quoted = /^"((?:[^"]|"")*)"/.exec(text.slice(at));
      if (!quoted) throw new RangeError(`a quoted name is not closed: ${text.slice(at)}`);
      name = quoted[1]!.replaceAll('""', '"');
      at += quoted[0].length;
      while (space()) at++;
      if (at < text.length && text[at] !== ",") throw new RangeError(`text after a quoted name: ${text.slice(at)}`);
    } else {
      const end = text.indexOf(",", at);
      name = text.slice(at, end < 0 ? undefined : end).trim();
      at = end < 0 ? text.length : end;
    }
    if (name !== "") names.push(name);
    at++;
  }
  return names;
}

/**
 * Names as a list {@link parseNameList} reads back to the same names.
 *
 * @param names - the names
 * @example
 * formatNameList(["tenure", "price, usd"]) // 'tenure, "price, usd"'
 */
export function formatNameList(names: readonly string[]): string {
  return names.map((n) => (/[",]|^\s|\s$/.test(n) ? `"${n.replaceAll('"', '""')}"` : n)).join(", ");
}
