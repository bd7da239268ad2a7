/** Longest key kept for text that is not an IP address: garbage cannot grow the limiter's memory. */
const MAX_KEY_CHARS = 64;
/** The longest IPv6 text without zone: eight 4-digit groups, or six and a dotted IPv4 tail. */
const MAX_IPV6_CHARS = 45;

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The key a per-IP rate limit counts under. An IPv4 address is its own key; an
 * IPv6 address counts as its /64, since one host can pick any of the 2^64
 * addresses of its network at will; an IPv4-mapped IPv6 address counts as its
 * IPv4. Every textual form of one network gives one key (upper case, leading
 * zeros, `::` compression, a `%zone`, `[brackets]`, a `:port`). Anything else is
 * keyed as given, cut to 64 characters. Pure string work: runs on any runtime.
 *
 * @example
 * ipRateKey("2001:DB8:0:1::42");       // "2001:db8:0:1::/64"
 * ipRateKey("2001:db8:0:1:ffff::1");   // "2001:db8:0:1::/64", the same network
 * ipRateKey("::ffff:198.51.100.7");    // "198.51.100.7"
 */
export function ipRateKey(address: string): string {
  const text = withoutPort(address.trim());
  if (ipv4Octets(text) !== null) return text; // no leading zeros, each ≤ 255: already its one spelling
  const groups = ipv6Groups(text);
  if (groups === null) return address.slice(0, MAX_KEY_CHARS);
  if (isIpv4Mapped(groups)) {
    const [high, low] = [groups[6] as number, groups[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`;
}

/** `[v6]`, `[v6]:port` and `v4:port` (some proxies append the port) without the port and brackets. */
function withoutPort(text: string): string {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    const rest = close === -1 ? null : text.slice(close + 1);
    if (rest !== null && (rest === "" || /^:\d{1,5}$/.test(rest))) return text.slice(1, close);
    return text;
  }
  const colon = text.indexOf(":");
  if (colon !== -1 && colon === text.lastIndexOf(":") && /^:\d{1,5}$/.test(text.slice(colon))) return text.slice(0, colon);
  return text;
}

/** The four octets of a dotted-quad IPv4 address; null otherwise (leading zeros too: some parsers read them as octal). */
function ipv4Octets(text: string): number[] | null {
  const match = IPV4.exec(text);
  if (match === null) return null;
  const octets: number[] = [];
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith("0")) return null;
    const value = Number(part);
    if (value > 255) return null;
    octets.push(value);
  }
  return octets;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped); null when the text is not one. */
function ipv6Groups(text: string): number[] | null {
  const percent = text.indexOf("%");
  if (percent === text.length - 1) return null; // an empty zone id
  const bare = percent === -1 ? text : text.slice(0, percent);
  if (bare.length > MAX_IPV6_CHARS || !bare.includes(":")) return null;
  const halves = bare.split("::");
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = groupsOf(halves[0] as string, !compressed);
  const tail = compressed ? groupsOf(halves[1] as string, true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  // "::" stands for at least one zero group; without it, all eight must be written.
  if (compressed ? missing < 1 : missing !== 0) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Colon-separated hex groups; the last may be a dotted IPv4 address (two groups) when it ends the address. */
function groupsOf(text: string, endsAddress: boolean): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as string;
    if (HEX_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
      continue;
    }
    const octets = endsAddress && index === parts.length - 1 ? ipv4Octets(part) : null;
    if (octets === null) return null;
    const [a, b, c, d] = octets as [number, number, number, number];
    groups.push((a << 8) | b, (c << 8) | d);
  }
  return groups;
}

/** `::ffff:a.b.c.d`: an IPv4 client seen through a dual-stack socket. */
function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}
