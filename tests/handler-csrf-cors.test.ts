import { describe, expect, it } from "vitest";
import { BASE, Browser, makeHarness } from "./helpers/handler-harness.js";

const PARTNER = "https://partner.example";

type Headers = Record<string, string>;

/** POST /session with exactly these headers (plus nothing else). */
async function postSession(headers: Headers, allowed: string[] = [PARTNER]): Promise<Response> {
  const { handler } = makeHarness({ allowedOrigins: allowed });
  return handler(new Request(`${BASE}/session`, { method: "POST", headers: { host: "app.example", ...headers } }), { clientIp: "192.0.2.10" });
}

describe("CSRF on every POST", () => {
  const matrix: Array<[string, number, Headers]> = [
    ["same-origin fetch", 200, { "sec-fetch-site": "same-origin", origin: "https://app.example" }],
    ["a user-initiated request (Sec-Fetch-Site: none)", 200, { "sec-fetch-site": "none" }],
    ["a cross-site POST", 403, { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
    ["a cross-site POST without Origin", 403, { "sec-fetch-site": "cross-site" }],
    ["a cross-site POST from an opaque origin", 403, { "sec-fetch-site": "cross-site", origin: "null" }],
    ["a cross-site POST from an allowlisted origin", 200, { "sec-fetch-site": "cross-site", origin: PARTNER }],
    ["a same-site POST from a sibling subdomain", 403, { "sec-fetch-site": "same-site", origin: "https://sub.app.example" }],
    ["a same-site POST from an allowlisted origin", 200, { "sec-fetch-site": "same-site", origin: PARTNER }],
    ["an allowlisted origin spelled differently (trailing slash)", 403, { "sec-fetch-site": "cross-site", origin: `${PARTNER}/` }],
    ["an allowlisted origin over http", 403, { "sec-fetch-site": "cross-site", origin: "http://partner.example" }],
    ["no Sec-Fetch-Site, Origin matches Host", 200, { origin: "https://app.example" }],
    ["no Sec-Fetch-Site, Origin missing", 403, {}],
    ["no Sec-Fetch-Site, Origin null", 403, { origin: "null" }],
    ["no Sec-Fetch-Site, Origin host differs from Host", 403, { origin: "https://evil.example" }],
    ["no Sec-Fetch-Site, Origin port differs from Host", 403, { origin: "https://app.example:8443" }],
    ["no Sec-Fetch-Site, Host spells out the default port", 200, { origin: "https://app.example", host: "app.example:443" }],
    ["no Sec-Fetch-Site, Host in capitals", 200, { origin: "https://app.example", host: "APP.example" }],
    ["no Sec-Fetch-Site, Host smuggles a path", 403, { origin: "https://app.example", host: "app.example/evil" }],
    ["no Sec-Fetch-Site, Origin is garbage", 403, { origin: "not a url" }],
    ["no Sec-Fetch-Site, allowlisted Origin", 200, { origin: PARTNER }],
  ];

  it.each(matrix)("%s → %i", async (_label, status, headers) => {
    const res = await postSession(headers);
    expect(res.status).toBe(status);
    if (status === 403) {
      expect(await res.json()).toEqual({ code: "CSRF_REJECTED", error: expect.any(String) });
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it.each(["/session", "/login/start", "/run/stream", "/logout"])("rejects a cross-site POST %s before it has any effect", async (route) => {
    const events: string[] = [];
    const { handler, runner, store } = makeHarness({ onEvent: (e) => events.push(e.type) });
    const victim = new Browser(handler);
    await victim.signIn(runner);
    const calls = runner.contextIds.length;
    const sizeBefore = store.size;
    const res = await victim.post(route, route === "/run/stream" ? { prompt: "spend my quota" } : undefined, {
      "sec-fetch-site": "cross-site",
      origin: "https://evil.example",
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "CSRF_REJECTED" });
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(runner.contextIds.length).toBe(calls);
    expect(store.size).toBe(sizeBefore);
    expect(events).toContain("csrf_rejected");
    expect((await victim.get("/status")).status).toBe(200); // still signed in (logout was not forced)
  });

  it("does not apply CSRF to GET /status, which changes nothing a cross-site page could read", async () => {
    const { handler } = makeHarness();
    const res = await handler(new Request(`${BASE}/status`, { headers: { "sec-fetch-site": "cross-site", origin: "https://evil.example" } }));
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS only for allowedOrigins", () => {
  it("answers a listed origin with itself and credentials, and Vary: Origin", async () => {
    const res = await postSession({ "sec-fetch-site": "cross-site", origin: PARTNER });
    expect(res.headers.get("access-control-allow-origin")).toBe(PARTNER);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("vary")).toMatch(/Origin/);
  });

  it("never reflects an unlisted origin and never answers *", async () => {
    for (const origin of ["https://evil.example", "null", `${PARTNER}.evil.example`, "https://app.example"]) {
      const res = await postSession({ "sec-fetch-site": "same-origin", origin });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      expect(res.headers.get("vary")).toMatch(/Origin/);
    }
  });

  it("puts CORS headers on error answers for listed origins too, so the page can read the code", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    const res = await handler(new Request(`${BASE}/status`, { headers: { origin: PARTNER, "sec-fetch-site": "cross-site" } }));
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(PARTNER);
  });

  it("answers a preflight from a listed origin", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    const res = await handler(
      new Request(`${BASE}/run/stream`, {
        method: "OPTIONS",
        headers: { origin: PARTNER, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(PARTNER);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toBe("POST");
    expect(res.headers.get("access-control-allow-headers")).toBe("content-type");
    expect(res.headers.get("vary")).toMatch(/Origin/);
  });

  it("refuses a preflight from an unlisted origin without any CORS header", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    const res = await handler(
      new Request(`${BASE}/run/stream`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("refuses a preflight for the wrong method, and answers a plain OPTIONS with Allow", async () => {
    const { handler } = makeHarness({ allowedOrigins: [PARTNER] });
    const wrong = await handler(
      new Request(`${BASE}/status`, { method: "OPTIONS", headers: { origin: PARTNER, "access-control-request-method": "DELETE" } }),
    );
    expect(wrong.status).toBe(405);
    const plain = await handler(new Request(`${BASE}/status`, { method: "OPTIONS" }));
    expect(plain.status).toBe(204);
    expect(plain.headers.get("allow")).toBe("GET, OPTIONS");
  });

  it.each([["*"], ["null"], ["https://partner.example/"], ["partner.example"]])("refuses allowedOrigins entry %s at construction", (origin) => {
    expect(() => makeHarness({ allowedOrigins: [origin] })).toThrow(/allowedOrigins/);
  });
});
