import { describe, expect, it } from "vitest";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { Browser, makeHarness, readEvents } from "../../support/handler-harness.js";

describe("the contract, end to end through the Web-standard handler", () => {
  it("creates a session, starts a device login, polls, signs in, runs a prompt and logs out", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);

    const session = await browser.post("/session");
    expect(session.status).toBe(200);
    expect(await session.json()).toEqual({ ok: true });
    const firstCookie = browser.cookie;
    expect(firstCookie).toMatch(/^__Host-codex_sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(session.headers.get("set-cookie")).toMatch(/; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);

    // Reused: no new cookie.
    const again = await browser.post("/session");
    expect(await again.json()).toEqual({ ok: true });
    expect(again.headers.get("set-cookie")).toBeNull();

    const start = await browser.post("/login/start");
    expect(start.status).toBe(200);
    const started = (await start.json()) as Record<string, unknown>;
    expect(started).toEqual({ loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-1001", expiresAt: expect.any(Number) });

    const pending = await browser.get("/status");
    expect(pending.status).toBe(200);
    expect(await pending.json()).toEqual({ ok: false, status: "pending" });

    runner.approve();
    const status = await browser.get("/status");
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({ ok: true, account: { email: "ann@example.com", planType: "plus" } });
    expect(browser.cookie).not.toBe(firstCookie);

    const run = await browser.post("/run/stream", { prompt: "hello there" });
    expect(run.status).toBe(200);
    expect(run.headers.get("content-type")).toBe("application/x-ndjson");
    expect(run.headers.get("cache-control")).toBe("no-store");
    const events = await readEvents(run);
    expect(events).toEqual([
      { type: "assistant-text", mode: "append", text: "Echo:" },
      { type: "assistant-text", mode: "append", text: " hello" },
      { type: "assistant-text", mode: "append", text: " there" },
      { type: "done", result: { usage: { inputTokens: 3, outputTokens: 3 } } },
    ]);

    const logout = await browser.post("/logout");
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({});
    expect(logout.headers.get("set-cookie")).toBe("__Host-codex_sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
    expect(runner.logouts).toBe(1);
  });

  it("keeps the runner's ctx.id stable across the cookie rotation", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(new Set(runner.contextIds).size).toBe(1);
  });
});

describe("handleCodexRequest", () => {
  it("builds the handler once per options object, so sessions and limits persist between calls", async () => {
    const { createTestRunner } = await import("../../support/test-runner.js");
    const { handleCodexRequest } = await import("../../../src/backend/core/handler.js");
    const { SECRET, sameOrigin, BASE } = await import("../../support/handler-harness.js");
    const options = { runner: createTestRunner(), cookieSecret: SECRET, rateLimits: { sessionCreatePerIp: { points: 1, durationSec: 60 } } };
    const post = () => handleCodexRequest(new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() }), options, { clientIp: "192.0.2.50" });
    const first = await post();
    const cookie = first.headers.getSetCookie()[0]?.split(";")[0] as string;
    expect((await post()).status).toBe(429); // the same limiter
    const status = await handleCodexRequest(new Request(`${BASE}/status`, { headers: { cookie } }), options);
    expect(await status.json()).toMatchObject({ code: "NOT_AUTHENTICATED" }); // the same store
  });

  it("rejects its promise, rather than throwing at the caller, when the options are unusable (a weak cookieSecret)", async () => {
    const { createTestRunner } = await import("../../support/test-runner.js");
    const { handleCodexRequest } = await import("../../../src/backend/core/handler.js");
    const { sameOrigin, BASE } = await import("../../support/handler-harness.js");
    const request = new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() });
    let answer: Promise<Response> | undefined;
    expect(() => {
      answer = handleCodexRequest(request, { runner: createTestRunner(), cookieSecret: "short" });
    }).not.toThrow();
    await expect(answer).rejects.toThrow(/cookieSecret/);
  });
});

describe("audit events", () => {
  it("reports logins, runs, logout and rejections with a stable short session tag and no secrets", async () => {
    const events: Array<Record<string, unknown>> = [];
    const now = () => 1_700_000_000_000;
    const sessionStore = createMemorySessionStore({ now, sweepIntervalMs: 0 });
    const { handler, runner } = makeHarness({ onEvent: (e) => events.push({ ...e }), now, sessionStore });
    const browser = new Browser(handler);
    await browser.signIn(runner);
    await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    await browser.post("/session", undefined, { "sec-fetch-site": "cross-site", origin: "https://evil.example" });
    await browser.post("/logout");
    expect(events.map((e) => e.type)).toEqual([
      "session_created",
      "login_started",
      "login_succeeded",
      "run_started",
      "run_finished",
      "csrf_rejected",
      "logout",
    ]);
    const tags = new Set(events.filter((e) => e.session !== undefined).map((e) => e.session));
    expect(tags.size).toBe(1);
    expect([...tags][0]).toMatch(/^[A-Za-z0-9_-]{12}$/);
    for (const e of events) {
      expect(e.at).toBe(1_700_000_000_000);
      expect(e.clientIp).toBe("198.51.100.7");
    }
    const text = JSON.stringify(events);
    for (const line of browser.setCookies) {
      const id = line.split("=")[1]?.split(".")[0] ?? "";
      if (id.length > 0) expect(text).not.toContain(id);
    }
    expect(text).not.toContain(runner.contextIds[0]); // not even the runner's handle
  });
});
