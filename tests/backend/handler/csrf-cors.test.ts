import { describe, expect, it } from "vitest";
import { BASE, Browser, makeHarness } from "../../support/handler-harness.js";

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

describe("CSRF Origin/Host comparison memo", () => {
  // Every name here is unique to this block, so no earlier answer for the same pair is remembered from other tests.
  const { handler } = makeHarness();
  const post = async (origin: string, host: string): Promise<number> => {
    const res = await handler(new Request(`${BASE}/session`, { method: "POST", headers: { origin, host } }), { clientIp: "192.0.2.20" });
    return res.status;
  };

  it("accepts an Origin with its own Host, then rejects the same Origin with another Host", async () => {
    expect(await post("https://memo-a.example", "memo-a.example")).toBe(200);
    expect(await post("https://memo-a.example", "memo-b.example")).toBe(403);
    expect(await post("https://memo-a.example", "memo-a.example")).toBe(200);
  });

  it("rejects an Origin with another Host, then accepts the same Origin with its own Host", async () => {
    expect(await post("https://memo-c.example", "memo-d.example")).toBe(403);
    expect(await post("https://memo-c.example", "memo-c.example")).toBe(200);
    expect(await post("https://memo-c.example", "memo-d.example")).toBe(403);
  });

  it("keeps the Host side apart too: one Host, a matching Origin and a foreign one, in both orders", async () => {
    expect(await post("https://memo-e.example", "memo-e.example")).toBe(200);
    expect(await post("https://memo-f.example", "memo-e.example")).toBe(403);
    expect(await post("https://memo-h.example", "memo-g.example")).toBe(403);
    expect(await post("https://memo-g.example", "memo-g.example")).toBe(200);
    // Ports, scheme defaults and case are part of the answer, not of the memo's confusion.
    expect(await post("https://memo-i.example:8443", "memo-i.example:8443")).toBe(200);
    expect(await post("https://memo-i.example:8443", "memo-i.example")).toBe(403);
    expect(await post("https://memo-i.example", "memo-i.example:443")).toBe(200);
    expect(await post("http://memo-i.example", "memo-i.example:443")).toBe(403);
    expect(await post("https://memo-i.example", "MEMO-I.example")).toBe(200);
  });

  it("answers every (Origin, Host) pair of a 2×2 grid right, in every order, many times", async () => {
    const origins = ["https://memo-grid-1.example", "https://memo-grid-2.example"];
    const hosts = ["memo-grid-1.example", "memo-grid-2.example"];
    const cells = origins.flatMap((o, i) => hosts.map((h, j) => [o, h, i === j ? 200 : 403] as const));
    for (let round = 0; round < 4; round++) {
      const order = round % 2 === 0 ? cells : [...cells].reverse();
      for (const [origin, host, status] of order) expect(await post(origin, host), `${origin} on ${host}`).toBe(status);
    }
  });

  it("still answers right after more than 256 distinct pairs have passed through", async () => {
    const pairs = Array.from({ length: 700 }, (_, i) => {
      const origin = `https://memo-many-${i % 350}.example`;
      const match = i < 350; // the first 350 pairs match, the next 350 put the same Origins on a foreign Host
      return [origin, match ? `memo-many-${i}.example` : `memo-other-${i}.example`, match ? 200 : 403] as const;
    });
    for (const [origin, host, status] of pairs) expect(await post(origin, host), `${origin} on ${host}`).toBe(status);
    // Early pairs (long evicted) and recent ones, in reverse and mixed orders.
    for (const [origin, host, status] of [...pairs].reverse()) expect(await post(origin, host), `${origin} on ${host}`).toBe(status);
    for (let i = 0; i < pairs.length; i += 37) {
      const [origin, host, status] = pairs[i] as (typeof pairs)[number];
      expect(await post(origin, host)).toBe(status);
      expect(await post(origin, `x-${host}`)).toBe(403);
    }
  });
});
