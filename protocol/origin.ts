/**
 * A web origin as browsers send it in the `Origin` header (`scheme://host[:port]`, lower case,
 * default port left out), or undefined when `text` is not an http(s) origin: a path other than
 * `/`, a query, a fragment or credentials make it something else. Hosts are normalised as
 * browsers do (case, punycode, default ports), so what an admin types matches what a browser sends.
 *
 * @param text - what the admin typed
 * @example
 * normalizeOrigin("https://App.Example.com:443/") // "https://app.example.com"
 * normalizeOrigin("https://app.example.com/path") // undefined
 */
export function normalizeOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  const plain = !text.trim().endsWith("?") && !text.includes("#");
  return (url.protocol === "https:" || url.protocol === "http:") && bare && plain ? url.origin : undefined;
}
