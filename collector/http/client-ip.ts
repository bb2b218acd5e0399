/**
 * The address a request came from: `CF-Connecting-IP`. Cloudflare's edge sets it on every
 * request to a Worker and overwrites any value the client sent, so on Cloudflare it cannot be
 * forged. Locally, `wrangler dev` sets it to the connecting socket's address (127.0.0.1) but
 * keeps a value the client sent: there it can be forged, which the e2e tests use to act as many
 * clients. Null when the header is missing or is not an IP address (a request that came through
 * neither, e.g. a worker test calling the app directly).
 *
 * @param headers - the request's headers
 * @example
 * clientIp(c.req.raw.headers) // "203.0.113.7", "2001:db8::1" or null
 */
export function clientIp(headers: Headers): string | null {
  const value = headers.get("CF-Connecting-IP")?.trim();
  if (!value) return null;
  return isIpv4(value) || ipv6Groups(value) ? value : null;
}

/**
 * The network a limit or budget counts an address under: an IPv4 address itself, the /64 of
 * an IPv6 address (one subscriber or host usually holds a whole /64, so per-address counting
 * would let it take 2^64 budgets). An IPv4-mapped IPv6 address counts as its IPv4 address.
 *
 * @param ip - an address {@link clientIp} returned
 * @example
 * clientNetwork("2001:db8:1:2:aaaa::1") // "2001:db8:1:2::/64"
 * clientNetwork("203.0.113.7") // "203.0.113.7"
 */
export function clientNetwork(ip: string): string {
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 6).join() === "0,0,0,0,0,65535") return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/**
 * The network ({@link clientNetwork}) of the request's address ({@link clientIp}), or null when
 * no address is known.
 *
 * @param headers - the request's headers
 */
export function requestNetwork(headers: Headers): string | null {
  const ip = clientIp(headers);
  return ip === null ? null : clientNetwork(ip);
}

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** The eight 16-bit groups of an IPv6 address (`::` and an IPv4 tail expanded), or null. */
function ipv6Groups(text: string): number[] | null {
  if (!text.includes(":") || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (half: string): number[] | null => {
    if (half === "") return [];
    const groups: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && isIpv4(part)) {
        const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
        groups.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) groups.push(parseInt(part, 16));
      else return null;
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...Array<number>(missing).fill(0), ...tail] : null;
}
