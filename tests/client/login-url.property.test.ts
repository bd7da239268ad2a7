import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAllowedLoginUrl } from "../../src/client/login-url.js";

const DEFAULT_HOST = "auth.openai.com";
const LOOPBACK_ORIGINS = ["http://127.0.0.1:8787", "http://localhost:5173"];

/** How a browser reads `raw`, or null when it is not a URL at all. */
function parsed(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

// Pieces of URL-shaped strings, each chosen for a trick that has fooled a validator somewhere.
// The plain right spelling is weighted up so that each trick also meets an otherwise valid URL.
const scheme = fc.oneof(
  { weight: 4, arbitrary: fc.constant("https") },
  fc.constantFrom("https", "http", "HTTPS", "HtTpS", "javascript", "JavaScript", "java\tscript", "data", "file", "ftp", "ws", "wss"),
  fc.constantFrom("blob:https", "view-source:https", "h\ttps", "https\n", " https", "\u0000https", "https\u200b"),
  fc.string({ unit: "grapheme-ascii", maxLength: 8 }),
);
const separator = fc.oneof({ weight: 4, arbitrary: fc.constant("://") }, fc.constantFrom("://", ":", ":/", ":\\\\", ":///", ":\\/", "//", "", ":\t//", ":/\\"));
const userinfo = fc.constantFrom(
  "",
  "",
  "",
  "",
  `${DEFAULT_HOST}@`,
  "user:pass@",
  "@",
  ":@",
  `${DEFAULT_HOST}:443@`,
  `https://${DEFAULT_HOST}@`,
  `${DEFAULT_HOST}%40`,
  "evil.test\\@",
);
const host = fc.oneof(
  { weight: 4, arbitrary: fc.constant(DEFAULT_HOST) },
  fc.constantFrom(DEFAULT_HOST, "AUTH.OPENAI.COM", `${DEFAULT_HOST}.`, `${DEFAULT_HOST}..`, `${DEFAULT_HOST}.evil.test`, "evil.test"),
  // Look-alikes: Cyrillic а, fullwidth letters, ideographic full stops, percent-encoded dots, punycode, near misses.
  fc.constantFrom("\u0430uth.openai.com", "ａｕｔｈ.openai.com", "auth\u3002openai\u3002com", "auth%2eopenai%2ecom", "xn--uth-7cd.openai.com"),
  fc.constantFrom("auth.openai.co", "openai.com", "auth-openai.com", "auth.openai.com%2f.evil.test", `${DEFAULT_HOST}\\.evil.test`, `${DEFAULT_HOST}#.evil.test`),
  fc.constantFrom("127.0.0.1", "localhost", "[::1]", "0x7f.1", "2130706433", "LOCALHOST", `${DEFAULT_HOST}\u0000`),
  // Suffix and prefix tricks: a subdomain of the allowed host, or a name that merely ends with it.
  fc.tuple(fc.domain(), fc.constantFrom(".", "", "-")).map(([domain, glue]) => `${domain}${glue}${DEFAULT_HOST}`),
  fc.domain(),
);
const port = fc.constantFrom("", "", ":443", ":0443", ":8443", ":", ":80", ":8787", ":5173", ":65536", ":abc");
const path = fc.oneof(
  fc.constantFrom("", "/", "/codex/device", "\\evil.test", "?@evil.test", "#@evil.test", "/\\evil.test", "//evil.test", "/%2e%2e/"),
  fc.webPath(),
);
/** Whitespace and control characters a browser strips or refuses, inserted anywhere. */
const noise = fc.array(fc.tuple(fc.nat(), fc.constantFrom("\t", "\n", "\r", " ", "\u0000", "\u001f", "\u00a0", "\u200b", "\ufeff")), {
  maxLength: 3,
});

const urlShaped = fc
  .tuple(scheme, separator, userinfo, host, port, path, noise)
  .map(([schemeText, separatorText, userinfoText, hostText, portText, pathText, inserted]) => {
    let text = schemeText + separatorText + userinfoText + hostText + portText + pathText;
    for (const [at, character] of inserted) {
      const position = at % (text.length + 1);
      text = text.slice(0, position) + character + text.slice(position);
    }
    return text;
  });
const anyString = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 60 }), fc.webUrl());
const candidate = fc.oneof({ weight: 3, arbitrary: urlShaped }, { weight: 1, arbitrary: anyString });

describe("login URL validator on arbitrary input", () => {
  it("accepts only https on exactly the allowed host, default port, no userinfo", () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (raw) => {
        if (!isAllowedLoginUrl(raw)) return;
        accepted++;
        const url = parsed(raw);
        expect(url).not.toBeNull();
        expect(url?.protocol).toBe("https:");
        expect(url?.hostname).toBe(DEFAULT_HOST);
        expect(url?.port).toBe("");
        expect(url?.username).toBe("");
        expect(url?.password).toBe("");
        expect(url?.origin).toBe(`https://${DEFAULT_HOST}`);
      }),
      { numRuns: 2000 },
    );
    // The generator reaches the accepting side too, so the property is not vacuous.
    expect(accepted).toBeGreaterThan(30);
  });

  it("never accepts javascript:, data: or http: (nor anything else not https), however spelled", () => {
    fc.assert(
      fc.property(candidate, (raw) => {
        const protocol = parsed(raw)?.protocol;
        if (protocol !== "https:") expect(isAllowedLoginUrl(raw)).toBe(false);
        if (/^[\s\u0000-\u001f]*(j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|d\s*a\s*t\s*a)\s*:/i.test(raw)) expect(isAllowedLoginUrl(raw)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("with a loopback origin listed for development, accepts http only for that exact origin", () => {
    const hosts = [DEFAULT_HOST, "auth0.openai.com"];
    const nearLoopback = fc
      .tuple(
        fc.constantFrom("http://", "HTTP://", "https://", "http:", "http:\\\\", "javascript://"),
        userinfo,
        fc.constantFrom("127.0.0.1", "localhost", "LOCALHOST", "[::1]", "127.0.0.2", "0x7f.1", "2130706433", "localhost.", "localhost.evil.test"),
        fc.constantFrom(":8787", ":5173", "", ":8788", ":08787", ":80"),
        path,
      )
      .map((parts) => parts.join(""));
    let loopbackAccepted = 0;
    fc.assert(
      fc.property(fc.oneof(candidate, nearLoopback), (raw) => {
        if (!isAllowedLoginUrl(raw, hosts, LOOPBACK_ORIGINS)) return;
        const url = parsed(raw) as URL;
        expect(url.username).toBe("");
        expect(url.password).toBe("");
        if (url.protocol === "https:" && url.port === "" && hosts.includes(url.hostname)) return;
        expect(LOOPBACK_ORIGINS).toContain(url.origin);
        expect(["127.0.0.1", "localhost"]).toContain(url.hostname);
        loopbackAccepted++;
      }),
      { numRuns: 2000 },
    );
    expect(loopbackAccepted).toBeGreaterThan(20);
  });

  it("accepts the real login page with any path, query and fragment", () => {
    const page = fc
      .tuple(fc.constantFrom(DEFAULT_HOST, "AUTH.openai.com", `${DEFAULT_HOST}:443`), fc.webPath(), fc.webQueryParameters(), fc.webFragments())
      .map(([authority, pagePath, query, fragment]) => `https://${authority}${pagePath}${query === "" ? "" : `?${query}`}${fragment === "" ? "" : `#${fragment}`}`);
    fc.assert(
      fc.property(page, (raw) => {
        expect(isAllowedLoginUrl(raw)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
