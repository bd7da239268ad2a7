/**
 * One test per server-side promise of the seed SECURITY.md, each named for the
 * sentence it proves. The exhaustive versions live in the other handler-*
 * files and in token-confinement.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import { BASE, Browser, makeHarness, readEvents } from "../../support/handler-harness.js";
import { createTestRunner, SECRET_STRINGS } from "../../support/test-runner.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { skewClock } from "../../support/clock.js";

const everywhere = (text: string) => SECRET_STRINGS.filter((s) => text.includes(s));

describe("seed SECURITY.md, server side", () => {
  it("OAuth tokens live only on the backend: the session store holds them sealed, never in the clear", async () => {
    const { handler, runner, store } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const dump = store.dump();
    expect(dump.length).toBeGreaterThan(0);
    expect(everywhere(dump)).toEqual([]);
    const id = (browser.cookie as string).split("=")[1]?.split(".")[0] as string;
    expect(dump).not.toContain(id); // nor the session id
  });

  it("no token appears in any HTTP response, cookie value, error message or stream event", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const bodies = [
      await (await browser.post("/session")).text(),
      await (await browser.post("/login/start")).text(),
      await (await browser.get("/status")).text(),
      await (await browser.post("/run/stream", { prompt: "hi" })).text(),
      await (await browser.post("/run/stream", { nope: 1 })).text(),
    ];
    expect(everywhere(bodies.join("\n") + browser.setCookies.join("\n"))).toEqual([]);
  });

  it("the session cookie is HttpOnly (unreadable from JavaScript)", async () => {
    const res = await new Browser(makeHarness().handler).post("/session");
    expect(res.headers.get("set-cookie")?.split("; ")).toContain("HttpOnly");
  });

  it("the session cookie is Secure, disabled only with cookieOptions: { secure: false }", async () => {
    expect((await new Browser(makeHarness().handler).post("/session")).headers.get("set-cookie")?.split("; ")).toContain("Secure");
    const dev = await new Browser(makeHarness({ cookieOptions: { secure: false } }).handler).post("/session");
    expect(dev.headers.get("set-cookie")?.split("; ")).not.toContain("Secure");
  });

  it("the session cookie is SameSite=Strict", async () => {
    const res = await new Browser(makeHarness().handler).post("/session");
    expect(res.headers.get("set-cookie")?.split("; ")).toContain("SameSite=Strict");
  });

  it("the session cookie is signed with cookieSecret: a forged value is no session", async () => {
    const { handler } = makeHarness();
    const forged = `__Host-codex_sid=${"A".repeat(43)}.${"B".repeat(43)}`;
    const res = await handler(new Request(`${BASE}/status`, { headers: { cookie: forged } }));
    expect(await res.json()).toMatchObject({ status: "logged_out", code: "NO_SESSION" });
  });

  it("cookieSecret must be ≥ 16 characters and high-entropy", () => {
    const runner = createTestRunner();
    expect(() => createCodexHandler({ runner, cookieSecret: "Short1!" })).toThrow(/16/);
    expect(() => createCodexHandler({ runner, cookieSecret: "changemechangemechangeme" })).toThrow(/low-entropy/);
  });

  it("the session cookie is rotated on successful login (session-fixation defence)", async () => {
    const clock = skewClock(); // the store times the grace period: the test moves past it without sleeping
    const store = createMemorySessionStore({ sweepIntervalMs: 0, now: clock.now });
    const { handler, runner } = makeHarness({ limits: { rotationGraceMs: 1 }, sessionStore: store, now: clock.now });
    const browser = new Browser(handler);
    await browser.post("/session");
    const before = browser.cookie;
    await browser.signIn(runner);
    expect(browser.cookie).not.toBe(before);
    clock.advance(5);
    const old = new Browser(handler);
    old.cookie = before;
    expect((await old.get("/status")).status).toBe(401);
  });

  it("in-memory sessions are the default and a process restart invalidates them", async () => {
    const runner = createTestRunner();
    const options = { runner, cookieSecret: "kR3v9-QpZ7xW2mLs8YbT4nHc6JfD1gAe", rateLimits: false as const };
    const first = new Browser(createCodexHandler(options));
    await first.signIn(runner);
    // A new process: its own options object, so a new default store (handlers made from one object share theirs).
    const second = new Browser(createCodexHandler({ ...options }));
    second.cookie = first.cookie;
    expect((await second.get("/status")).status).toBe(401);
  });

  it("every POST is CSRF-protected: a cross-site Sec-Fetch-Site is rejected", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    for (const route of ["/session", "/login/start", "/run/stream", "/logout"]) {
      const res = await browser.post(route, { prompt: "x" }, { "sec-fetch-site": "cross-site", origin: "https://evil.example" });
      expect(res.status).toBe(403);
    }
  });

  it("…and so is a POST whose Origin host differs from Host", async () => {
    const { handler } = makeHarness();
    const res = await handler(new Request(`${BASE}/session`, { method: "POST", headers: { host: "app.example", origin: "https://evil.example" } }));
    expect(await res.json()).toMatchObject({ code: "CSRF_REJECTED" });
  });

  it("…unless the origin is explicitly allowlisted", async () => {
    const { handler } = makeHarness({ allowedOrigins: ["https://partner.example"] });
    const res = await handler(
      new Request(`${BASE}/session`, { method: "POST", headers: { host: "app.example", origin: "https://partner.example", "sec-fetch-site": "cross-site" } }),
    );
    expect(res.status).toBe(200);
  });

  it("allowedOrigins gets Access-Control-Allow-Credentials with the specific origin, never * or a reflected one", async () => {
    const { handler } = makeHarness({ allowedOrigins: ["https://partner.example"] });
    const listed = await handler(new Request(`${BASE}/status`, { headers: { origin: "https://partner.example" } }));
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://partner.example");
    expect(listed.headers.get("access-control-allow-credentials")).toBe("true");
    const other = await handler(new Request(`${BASE}/status`, { headers: { origin: "https://evil.example" } }));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("unlisted origins get no CORS headers and are rejected", async () => {
    const { handler } = makeHarness({ allowedOrigins: ["https://partner.example"] });
    const res = await handler(
      new Request(`${BASE}/session`, { method: "POST", headers: { host: "app.example", origin: "https://evil.example", "sec-fetch-site": "cross-site" } }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("errors forwarded from a runner are sanitised (JWT / key / path patterns redacted)", async () => {
    const runner = createTestRunner({
      run: async function* () {
        yield { type: "error", code: "RUN_FAILED", error: "codex exited: token eyJhbGciOi.eyJzdWIi.c2ln key sk-abcdefghijklmnop in /home/ann/.codex" };
      },
    });
    const { handler } = makeHarness({}, runner);
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const [event] = await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(String(event?.error)).not.toMatch(/eyJ|sk-abc|\/home\/ann/);
  });

  it("/login/start is not exposed to callers without a session or to CSRF-able callers", async () => {
    const { handler } = makeHarness();
    const anonymous = await new Browser(handler).post("/login/start");
    expect(anonymous.status).toBe(401);
    const browser = new Browser(handler);
    await browser.post("/session");
    const csrf = await browser.post("/login/start", undefined, { "sec-fetch-site": "cross-site", origin: "https://evil.example" });
    expect(csrf.status).toBe(403);
  });

  it("/login/start and /run/stream are rate limited by default (quota burn)", async () => {
    const runner = createTestRunner();
    const { handler } = makeHarness({ rateLimits: undefined }, runner);
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const login: number[] = [];
    for (let i = 0; i < 12; i++) login.push((await browser.post("/login/start")).status);
    expect(login).toContain(429);
    const runs: number[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await browser.post("/run/stream", { prompt: "x" });
      runs.push(res.status);
      await res.text();
    }
    expect(runs).toContain(429);
  });

  it("every contract response is Cache-Control: no-store", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    const responses = [await browser.post("/session"), await browser.get("/status"), await browser.post("/login/start")];
    runner.approve();
    responses.push(await browser.get("/status"), await browser.post("/run/stream", { prompt: "x" }), await browser.post("/run/stream", "bad"));
    responses.push(await browser.post("/logout"), await handler(new Request(`${BASE}/x`)), await handler(new Request(`${BASE}/session`)));
    for (const res of responses) expect(res.headers.get("cache-control")).toBe("no-store");
  });
});
