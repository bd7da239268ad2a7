import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipRateKey } from "../../../src/backend/http/ip-key.js";

const hex = (group: number): string => group.toString(16);

/** Eight groups written every way a client, a proxy or a socket might write them. */
function spellings(groups: number[]): string[] {
  const expanded = groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
  const minimal = groups.map(hex).join(":");
  const spellings = [expanded, expanded.toUpperCase(), minimal, `${minimal}%eth0`, `[${minimal}]`, `[${expanded}]:8443`];
  // "::" over the longest run of zero groups (when there is one), as RFC 5952 writes it.
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > best.length) best = { start, length };
  }
  if (best.length > 0) {
    const left = groups.slice(0, best.start).map(hex).join(":");
    const right = groups.slice(best.start + best.length).map(hex).join(":");
    spellings.push(`${left}::${right}`, `${left}::${right}`.toUpperCase(), `${left}::${right}%25`);
  }
  return spellings;
}

const group = fc.integer({ min: 0, max: 0xffff });
// Zero groups are common in real addresses and are what "::" compresses; weight them in.
const sparseGroup = fc.oneof(group, fc.constant(0), fc.constant(0));
const groupsArb = fc.array(sparseGroup, { minLength: 8, maxLength: 8 }).filter((g) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));

describe("per-IP rate-limit key", () => {
  it("keys every spelling of one IPv6 address on the same /64", () => {
    fc.assert(
      fc.property(groupsArb, (groups) => {
        const expected = `${groups.slice(0, 4).map(hex).join(":")}::/64`;
        for (const text of spellings(groups)) expect(ipRateKey(text), text).toBe(expected);
      }),
    );
  });

  it("gives any two hosts of one /64 the same key, and hosts of different /64s different keys", () => {
    fc.assert(
      fc.property(groupsArb, groupsArb, (a, b) => {
        const other = [...a.slice(0, 4), ...b.slice(4)];
        // ::ffff:0:0/96 holds IPv4-mapped addresses, keyed per IPv4 address on purpose (tested below).
        fc.pre(![a, b, other].some(isIpv4Mapped));
        expect(ipRateKey(a.map(hex).join(":"))).toBe(ipRateKey(other.map(hex).join(":")));
        const samePrefix = a.slice(0, 4).every((g, i) => g === b[i]);
        expect(ipRateKey(a.map(hex).join(":")) === ipRateKey(b.map(hex).join(":"))).toBe(samePrefix);
      }),
    );
  });

  it("keeps IPv4 per address, and counts an IPv4-mapped IPv6 address as its IPv4", () => {
    expect(ipRateKey("198.51.100.7")).toBe("198.51.100.7");
    expect(ipRateKey("198.51.100.8")).toBe("198.51.100.8");
    expect(ipRateKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(ipRateKey("::FFFF:C633:6407")).toBe("198.51.100.7");
    expect(ipRateKey("0:0:0:0:0:ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(ipRateKey("[::ffff:198.51.100.7]:443")).toBe("198.51.100.7");
    expect(ipRateKey("198.51.100.7:51234")).toBe("198.51.100.7"); // a proxy that appends the client's port
    expect(ipRateKey(" 198.51.100.7 ")).toBe("198.51.100.7");
  });

  it("drops a zone id, so a link-local client cannot multiply its budget by naming interfaces", () => {
    expect(ipRateKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(ipRateKey("fe80::2%wlan7")).toBe("fe80:0:0:0::/64");
    expect(ipRateKey("::1")).toBe("0:0:0:0::/64");
  });

  it("keys garbage as given, but never longer than 64 characters", () => {
    expect(ipRateKey("unknown")).toBe("unknown");
    expect(ipRateKey("01.2.3.4")).toBe("01.2.3.4"); // leading zeros: octal to some parsers, so not an address here
    expect(ipRateKey("1:2:3:4::5:6:7:8")).toBe("1:2:3:4::5:6:7:8");
    expect(ipRateKey("x".repeat(10_000))).toBe("x".repeat(64));
    expect(ipRateKey(`${"1:".repeat(5_000)}1`)).toHaveLength(64);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(ipRateKey(text).length).toBeLessThanOrEqual(64);
      }),
    );
  });

  it("reads as an address exactly what node:net reads as one", () => {
    const alphabet = fc.constantFrom(..."0123456789abcdefABCDEF:.".split(""));
    const candidate = fc.oneof(
      fc.array(alphabet, { maxLength: 45 }).map((chars) => chars.join("")),
      groupsArb.map((groups) => spellings(groups)[6] ?? groups.map(hex).join(":")),
      fc.tuple(groupsArb, fc.integer({ min: 0, max: 7 })).map(([groups, cut]) => groups.slice(cut).map(hex).join(":")),
      fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((parts) => parts.join(".")),
    );
    fc.assert(
      fc.property(candidate, (text) => {
        const key = ipRateKey(text);
        const readAsAddress = key !== text || isIP(text) === 4;
        expect(readAsAddress, text).toBe(isIP(text) !== 0);
      }),
      { numRuns: 5_000 },
    );
  });
});

function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}
