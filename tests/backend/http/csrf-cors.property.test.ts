import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyCors } from "../../../src/backend/http/cors.js";
import { isCsrfSafe } from "../../../src/backend/http/csrf.js";
import { BASE, makeHarness } from "../../support/handler-harness.js";

const PARTNER = "https://partner.example";
const ALLOWED: ReadonlySet<string> = new Set([PARTNER]);
/** The request URL's host, which stands in for a missing or empty Host header. */
const URL_HOST = new URL(BASE).host;

// ---------------------------------------------------------------------------
// The reference: CONTRACT.md "CSRF" and "CORS", SECURITY.md "CSRF", written out
// rule by rule without looking at csrf.ts. Comments quote the documents.
// ---------------------------------------------------------------------------

/** "`Sec-Fetch-Site: same-origin` or `none` → allowed." Browsers send lower case; a stray case or space changes nothing a page controls. */
const SAFE_SITES = new Set(["same-origin", "none"]);
const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

interface HostPort {
  hostname: string;
  port: number | null;
}

/** An Origin's host and port; null when it is "not a URL". */
function originHostPort(origin: string): (HostPort & { scheme: string }) | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  const port = url.port === "" ? (DEFAULT_PORTS[url.protocol] ?? null) : Number(url.port);
  return { hostname: url.hostname, port, scheme: url.protocol };
}

/** A Host header as RFC 9110 spells it, `host [":" port]`; anything else (a path, userinfo, spaces, commas) names no host. */
function hostHeaderHostPort(host: string, scheme: string): HostPort | null {
  const match = /^([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i.exec(host.trim());
  if (match === null) return null;
  const port = match[2] === undefined ? (DEFAULT_PORTS[scheme] ?? null) : Number(match[2]);
  if (port !== null && port > 65535) return null;
  return { hostname: (match[1] as string).toLowerCase(), port };
}

/** The documented CSRF decision for a POST: true when it may proceed. */
function documentedCsrfDecision(site: string | null, origin: string | null, host: string | null): boolean {
  // "… unless Origin is in allowedOrigins": exact origins only.
  if (origin !== null && ALLOWED.has(origin)) return true;
  // "cross-site or same-site → rejected"; "same-origin or none → allowed"; any other value is not a browser's and is refused.
  if (site !== null) return SAFE_SITES.has(site.trim().toLowerCase());
  // "No Sec-Fetch-Site → rejected when Origin is missing, null, not a URL, or its host[:port] differs from Host."
  if (origin === null || origin === "null") return false;
  const from = originHostPort(origin);
  if (from === null) return false;
  // A request without Host (or with an empty one) is judged against the URL it was made for.
  const to = hostHeaderHostPort(host === null || host.trim() === "" ? URL_HOST : host, from.scheme);
  return to !== null && from.hostname === to.hostname && from.port === to.port;
}

/** "Listed Origin: Access-Control-Allow-Origin: <that origin> … Any other origin: no CORS header at all." */
function documentedCors(origin: string | null): Record<string, string> | null {
  if (origin === null || !ALLOWED.has(origin)) return null;
  return { "access-control-allow-origin": origin, "access-control-allow-credentials": "true" };
}

// ---------------------------------------------------------------------------
// The combinations the task names.
// ---------------------------------------------------------------------------

const SITES: readonly (string | null)[] = [
  null,
  "same-origin",
  "same-site",
  "cross-site",
  "none",
  // garbage
  "",
  "CROSS-SITE",
  " same-origin ",
  "same-origin, cross-site",
  "cross-site, same-origin",
  "navigate",
  "same_origin",
];

const ORIGINS: readonly (string | null)[] = [
  null,
  "null",
  // the same host as some Host below
  "https://app.example",
  "http://app.example",
  "https://app.example:443",
  "http://app.example:80",
  "https://app.example:8443",
  "http://app.example:8443",
  "https://APP.Example",
  "https://app.example.",
  "https://[::1]:3000",
  "http://127.0.0.1:8080",
  "https://xn--bcher-kva.example",
  // other hosts
  "https://evil.example",
  "https://app.example.evil.example",
  "https://sub.app.example",
  "https://evilapp.example",
  // listed, and listed spelled differently
  PARTNER,
  "https://PARTNER.example",
  "https://partner.example:443",
  "https://partner.example/",
  "http://partner.example",
  "https://partner.example:8443",
  "https://partner.example.",
  "https://partner.example#",
  "https://partner.example.evil.example",
  // garbage
  "not a url",
  "https://",
  "app.example",
  "//app.example",
  "javascript:alert(1)",
  "https://app.example:99999",
  "*",
];

const HOSTS: readonly (string | null)[] = [
  null,
  "",
  "app.example",
  "APP.Example",
  "app.example:443",
  "app.example:80",
  "app.example:8443",
  "app.example.",
  "[::1]:3000",
  "127.0.0.1:8080",
  "xn--bcher-kva.example",
  "partner.example",
  // odd
  " app.example ",
  "app.example/evil",
  "evil@app.example",
  "app.example:99999",
  "app.example:",
  "app.example evil.example",
  "app.example,evil.example",
];

type Headers = Record<string, string>;

function isExactOrigin(value: string): boolean {
  try {
    return value !== "null" && new URL(value).origin === value;
  } catch {
    return false;
  }
}

/** `scheme://host[:port]` as a browser serialises an Origin. */
const webOrigin = fc
  .tuple(fc.constantFrom("http", "https"), fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }))
  .map(([scheme, domain, port]) => new URL(`${scheme}://${domain}${port === null ? "" : `:${port}`}`).origin);

function headersOf(site: string | null, origin: string | null, host: string | null): Headers {
  const headers: Headers = {};
  if (site !== null) headers["sec-fetch-site"] = site;
  if (origin !== null) headers.origin = origin;
  if (host !== null) headers.host = host;
  return headers;
}

/** A POST as the core sees it, with the header values exactly as given (no trimming by a Headers object). */
function incoming(headers: Headers): Request {
  // Only what the CSRF check reads; a real Request would trim and validate the values first.
  const view = { method: "POST", url: `${BASE}/logout`, headers: { get: (name: string) => headers[name.toLowerCase()] ?? null } };
  return view as unknown as Request;
}

const combinations = SITES.flatMap((site) => ORIGINS.flatMap((origin) => HOSTS.map((host) => [site, origin, host] as const)));

describe("CSRF decision against the documented rule", () => {
  it("agrees with the reference on every combination of Sec-Fetch-Site, Origin and Host", () => {
    const disagreements: string[] = [];
    for (const [site, origin, host] of combinations) {
      const expected = documentedCsrfDecision(site, origin, host);
      if (isCsrfSafe(incoming(headersOf(site, origin, host)), ALLOWED) !== expected) {
        disagreements.push(`site=${JSON.stringify(site)} origin=${JSON.stringify(origin)} host=${JSON.stringify(host)}: expected ${expected}`);
      }
    }
    expect(disagreements).toEqual([]);
    // The table is not one-sided: both answers occur, so a constant would fail it.
    const answers = new Set(combinations.map(([site, origin, host]) => documentedCsrfDecision(site, origin, host)));
    expect(answers).toEqual(new Set([true, false]));
  });

  it("agrees through the whole handler: a refused POST is a 403 CSRF_REJECTED, CORS headers only for the listed origin", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    const disagreements: string[] = [];
    // Sec-Fetch-Site values a Headers object keeps apart (it trims, so " same-origin " is the same as "same-origin").
    for (const [site, origin, host] of combinations.filter(([site]) => site === null || site === site.trim())) {
      const request = new Request(`${BASE}/logout`, { method: "POST", headers: headersOf(site, origin, host) });
      // The reference judges what the handler receives, after the Headers object's normalisation.
      const seen = (name: string) => request.headers.get(name);
      const expected = documentedCsrfDecision(seen("sec-fetch-site"), seen("origin"), seen("host"));
      const response = await handler(request, { clientIp: "192.0.2.30" });
      const label = `site=${JSON.stringify(site)} origin=${JSON.stringify(origin)} host=${JSON.stringify(host)}`;
      const body = (await response.json()) as { code?: string };
      const refused = response.status === 403 && body.code === "CSRF_REJECTED";
      if (refused === expected) disagreements.push(`${label}: expected ${expected ? "allowed" : "refused"}, got ${response.status}`);
      const cors = documentedCors(seen("origin"));
      const allowOrigin = response.headers.get("access-control-allow-origin");
      if (allowOrigin !== (cors?.["access-control-allow-origin"] ?? null)) disagreements.push(`${label}: Access-Control-Allow-Origin ${allowOrigin}`);
      if (response.headers.get("access-control-allow-credentials") !== (cors?.["access-control-allow-credentials"] ?? null)) {
        disagreements.push(`${label}: credentials header without a listed origin`);
      }
      if (!/\bOrigin\b/.test(response.headers.get("vary") ?? "")) disagreements.push(`${label}: no Vary: Origin`);
    }
    expect(disagreements).toEqual([]);
  });
});

describe("CSRF decision on arbitrary header values", () => {
  const vocabulary = fc.oneof(
    fc.constantFrom(...SITES.filter((site) => site !== null), ...ORIGINS.filter((origin) => origin !== null), ...HOSTS.filter((host) => host !== null)),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.webUrl({ withFragments: true, withQueryParameters: true }),
    fc.webAuthority({ withIPv4: true, withIPv6: true, withPort: true, withUserInfo: true }),
  );
  const maybe = fc.option(vocabulary, { nil: null });

  it("never throws, and holds every documented rule that needs no URL parsing", () => {
    fc.assert(
      fc.property(maybe, maybe, maybe, (site, origin, host) => {
        const allowed = isCsrfSafe(incoming(headersOf(site, origin, host)), ALLOWED);
        const listed = origin !== null && ALLOWED.has(origin);
        if (listed) expect(allowed).toBe(true);
        else if (site !== null) expect(allowed).toBe(SAFE_SITES.has(site.trim().toLowerCase()));
        else if (origin === null || origin === "null") expect(allowed).toBe(false);
        else if (allowed) {
          // Let through on Host alone: then Origin is a URL whose host[:port] is the Host's.
          const from = new URL(origin);
          const effective = host === null || host.trim() === "" ? URL_HOST : host.trim();
          expect(new URL(`${from.protocol}//${effective}`).host).toBe(from.host);
          expect(effective).not.toMatch(/[/@\s,?#\\]/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the reference whenever Host is written in its plain form", () => {
    const plainHost = fc.oneof(
      fc.constantFrom("app.example", "APP.Example", "app.example:8443", "partner.example", "evil.example"),
      fc.domain().chain((domain) => fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }).map((port) => (port === null ? domain : `${domain}:${port}`))),
    );
    const site = fc.option(fc.constantFrom(...SITES.filter((value) => value !== null)), { nil: null });
    const origin = fc.option(
      fc.oneof(fc.constantFrom(...ORIGINS.filter((value) => value !== null)), webOrigin, fc.webUrl()),
      { nil: null },
    );
    fc.assert(
      fc.property(site, origin, fc.option(plainHost, { nil: null }), (siteValue, originValue, hostValue) => {
        expect(isCsrfSafe(incoming(headersOf(siteValue, originValue, hostValue)), ALLOWED)).toBe(
          documentedCsrfDecision(siteValue, originValue, hostValue),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe("CORS headers on arbitrary origins", () => {
  const originLike = fc.oneof(
    fc.constantFrom(...ORIGINS.filter((origin) => origin !== null)),
    webOrigin,
    fc.webUrl(),
    fc.string({ unit: "binary", maxLength: 40 }),
  );

  it("grants credentials only to an exactly listed origin, never `*`, never an unlisted reflection", () => {
    const listedOrigins = fc.uniqueArray(webOrigin, { maxLength: 4 });
    fc.assert(
      fc.property(fc.option(originLike, { nil: null }), listedOrigins, fc.boolean(), (origin, listed, includeOrigin) => {
        const allowed = new Set(listed);
        // Only what createCodexHandler accepts can be listed: exact origins, never `*` or `null`.
        if (includeOrigin && origin !== null && isExactOrigin(origin)) allowed.add(origin);
        const headers: Record<string, string> = {};
        applyCors(headers, origin, allowed);
        expect(headers.vary).toMatch(/\bOrigin\b/);
        if (origin !== null && allowed.has(origin)) {
          expect(headers["access-control-allow-origin"]).toBe(origin);
          expect(headers["access-control-allow-credentials"]).toBe("true");
        } else {
          expect(headers["access-control-allow-origin"]).toBeUndefined();
          expect(headers["access-control-allow-credentials"]).toBeUndefined();
        }
        expect(headers["access-control-allow-origin"]).not.toBe("*");
      }),
      { numRuns: 2000 },
    );
  });

  it("answers a preflight from any origin but the listed one with 403 and no CORS header", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    // Only values a Headers object accepts can reach the handler.
    const sendable = originLike.filter((origin) => {
      try {
        return new Headers({ origin }).get("origin") === origin;
      } catch {
        return false;
      }
    });
    await fc.assert(
      fc.asyncProperty(sendable, fc.constantFrom("/session", "/run/stream", "/logout", "/status"), async (origin, route) => {
        const method = route === "/status" ? "GET" : "POST";
        const response = await handler(
          new Request(`${BASE}${route}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": method } }),
        );
        if (origin === PARTNER) {
          expect(response.status).toBe(204);
          expect(response.headers.get("access-control-allow-origin")).toBe(PARTNER);
          expect(response.headers.get("access-control-allow-credentials")).toBe("true");
        } else {
          expect(response.status).toBe(403);
          expect(response.headers.get("access-control-allow-origin")).toBeNull();
          expect(response.headers.get("access-control-allow-credentials")).toBeNull();
          expect(response.headers.get("access-control-allow-methods")).toBeNull();
        }
      }),
      { numRuns: 500 },
    );
  });
});
