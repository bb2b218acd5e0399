import ipaddr from "ipaddr.js";

/**
 * Domain names that never name a public host: `localhost` (RFC 6761), mDNS `.local`, the
 * private-use `.internal` and `home.arpa` (RFC 8375). A name equal to one or ending in
 * `.<name>` is refused.
 */
const PRIVATE_DOMAINS = ["localhost", "local", "internal", "home.arpa"];

/** IPv4-compatible IPv6 addresses, `::a.b.c.d` (deprecated, RFC 4291 2.5.5.1): an IPv4 address inside. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

/**
 * Why `url` may not be a webhook, or undefined when it may: it must be an absolute http(s) URL
 * without credentials whose host is a public unicast IP address or a dotted domain name outside
 * {@link PRIVATE_DOMAINS}. The WHATWG URL parser has already turned every IPv4 spelling
 * (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) into a dotted quad, so one ipaddr.js range
 * check covers them; every range but `unicast` (loopback, private, link-local, CGNAT,
 * unique-local, unspecified, IPv4-mapped and IPv4-compatible, 6to4, NAT64, multicast, reserved…) is
 * refused.
 * A domain name is not resolved here (a Worker cannot): see docs/security.md for what guards
 * names that resolve to private addresses.
 *
 * @param url - the webhook as configured
 * @param allowPrivate - accept private and loopback hosts too (`WEBHOOK_ALLOW_PRIVATE`, local development only)
 * @example
 * webhookRefusal("http://169.254.169.254/latest", false) // "its host 169.254.169.254 is a linkLocal address, not a public one"
 */
export function webhookRefusal(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "it is not an absolute URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `its scheme ${parsed.protocol} is not http: or https:`;
  if (parsed.username || parsed.password) return "it carries credentials (user:password@); put a secret in the path or query instead";
  if (allowPrivate) return undefined;
  const host = parsed.hostname.replace(/\.$/, "");
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (ipaddr.isValid(literal)) {
    const address = ipaddr.parse(literal);
    const range = address.range();
    // ipaddr.js has no range for IPv4-compatible IPv6 (::a.b.c.d past :: and ::1): it calls them unicast
    if (range === "unicast" && address.kind() === "ipv6" && address.match(IPV4_COMPATIBLE)) return `its host ${host} is an IPv4-compatible address, not a public one`;
    return range === "unicast" ? undefined : `its host ${host} is a ${range} address, not a public one`;
  }
  if (!host.includes(".")) return `its host "${host}" is not a public domain name (no dot)`;
  const domain = PRIVATE_DOMAINS.find((d) => host === d || host.endsWith(`.${d}`));
  return domain ? `its host "${host}" is in the private domain "${domain}"` : undefined;
}

/**
 * The webhook as a read key sees it: scheme, host and port kept, path and query replaced by
 * `…` (Slack and most receivers keep their secret there).
 *
 * @param url - the stored webhook
 * @example
 * maskWebhook("https://hooks.slack.com/services/T0/B0/xyz") // "https://hooks.slack.com/…"
 */
export function maskWebhook(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "…";
  }
}
