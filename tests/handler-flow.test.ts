import { describe, expect, it } from "vitest";
import { Browser, makeHarness, readEvents } from "./helpers/handler-harness.js";

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
