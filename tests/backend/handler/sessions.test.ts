import { describe, expect, it } from "vitest";
import type { CodexRunner } from "../../../src/backend/runners/types.js";
import { resolveOptions } from "../../../src/backend/core/options.js";
import { SessionManager } from "../../../src/backend/sessions/session-manager.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { Browser, makeHarness, readEvents } from "../../support/handler-harness.js";
import { createTestRunner } from "../../support/test-runner.js";
import { until } from "../../support/until.js";

const MINUTE = 60_000;

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("session lifetime", () => {
  it("expires a session left idle past the idle timeout (injected clock)", async () => {
    const c = clock();
    const store = createMemorySessionStore({ idleTimeoutMs: 30 * MINUTE, absoluteTimeoutMs: 24 * 60 * MINUTE, now: c.now, sweepIntervalMs: 0 });
    const { handler, runner } = makeHarness({ sessionStore: store, now: c.now });
    const browser = new Browser(handler);
    await browser.signIn(runner);

    c.advance(29 * MINUTE);
    expect((await browser.get("/status")).status).toBe(200); // activity refreshes the idle timer
    c.advance(29 * MINUTE);
    expect((await browser.get("/status")).status).toBe(200);
    c.advance(31 * MINUTE);
    const res = await browser.get("/status");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ ok: false, status: "logged_out", code: "NO_SESSION" });
    expect((await browser.post("/run/stream", { prompt: "hi" })).status).toBe(401);
  });

  it("expires an active session at the absolute timeout, counted from creation across the rotation", async () => {
    const c = clock();
    const store = createMemorySessionStore({ idleTimeoutMs: 60 * MINUTE, pendingIdleTimeoutMs: 60 * MINUTE, absoluteTimeoutMs: 120 * MINUTE, now: c.now, sweepIntervalMs: 0 });
    const { handler, runner } = makeHarness({ sessionStore: store, now: c.now });
    const browser = new Browser(handler);
    await browser.post("/session");
    await browser.post("/login/start");
    c.advance(50 * MINUTE);
    runner.approve();
    expect((await browser.get("/status")).status).toBe(200); // rotated here
    for (let i = 0; i < 3; i++) {
      c.advance(20 * MINUTE);
      expect((await browser.get("/status")).status).toBe(200);
    }
    c.advance(11 * MINUTE); // 121 minutes after the first cookie, though active all along
    expect((await browser.get("/status")).status).toBe(401);
  });

  it("forgets memory sessions on a process restart (a new store): the old cookie is logged out, not an error", async () => {
    const runner = createTestRunner();
    const first = makeHarness({}, runner);
    const browser = new Browser(first.handler);
    await browser.signIn(runner);
    const restarted = makeHarness({}, runner);
    const after = new Browser(restarted.handler);
    after.cookie = browser.cookie;
    const res = await after.get("/status");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: "logged_out" });
  });
});

describe("rotation on sign-in races other tabs", () => {
  it("20 concurrent /status at the moment of approval: one code exchange, one new cookie, no definitive logout", async () => {
    const runner = createTestRunner({ exchangeDelayMs: 20 });
    const { handler } = makeHarness({}, runner);
    const tab = new Browser(handler);
    await tab.post("/session");
    await tab.post("/login/start");
    const oldCookie = tab.cookie as string;
    runner.approve();

    const tabs = Array.from({ length: 20 }, () => {
      const b = new Browser(handler);
      b.cookie = oldCookie;
      return b;
    });
    const answers = await Promise.all(tabs.map((b) => b.get("/status")));
    const statuses = answers.map((r) => r.status);
    expect(runner.exchanges).toBe(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(0);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const r of answers.filter((a) => a.status === 409)) {
      expect(await r.json()).toEqual({ ok: false, status: "rotated", code: "SESSION_ROTATED", error: expect.any(String) });
      expect(r.headers.get("set-cookie")).toBeNull();
    }
    const winner = tabs[statuses.indexOf(200)] as Browser;
    expect(winner.cookie).not.toBe(oldCookie);

    // The losing tabs poll again with the cookie the browser now holds, and are signed in.
    const retry = new Browser(handler);
    retry.cookie = winner.cookie;
    expect(await (await retry.get("/status")).json()).toMatchObject({ ok: true });
    expect(runner.exchanges).toBe(1);
  });

  it("late polls with the old cookie inside the grace period get 409, never a logout", async () => {
    const { handler, runner } = makeHarness();
    const tab = new Browser(handler);
    await tab.post("/session");
    await tab.post("/login/start");
    const stale = new Browser(handler);
    stale.cookie = tab.cookie;
    runner.approve();
    expect((await tab.get("/status")).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await stale.get("/status")).status).toBe(409);
    // POST /session with the old cookie must not mint a fresh cookie over the signed-in one.
    const session = await stale.post("/session");
    expect(session.status).toBe(409);
    expect(session.headers.get("set-cookie")).toBeNull();
  });

  it("a status that races a rotation and comes back logged out from the runner still answers 409", async () => {
    const runner = createTestRunner();
    const { handler } = makeHarness({}, runner);
    const tab = new Browser(handler);
    await tab.post("/session");
    await tab.post("/login/start");
    const stale = new Browser(handler);
    stale.cookie = tab.cookie;
    runner.approve();
    // The stale request reads the session first and its runner call stalls; meanwhile the other tab
    // completes the exchange and the rotation; then the stale call comes back "logged_out".
    const realGetStatus = runner.getStatus.bind(runner);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let stalled = false;
    runner.getStatus = async (ctx) => {
      if (!stalled) {
        stalled = true;
        await gate;
        return { status: "logged_out" };
      }
      return realGetStatus(ctx);
    };
    const racing = stale.get("/status");
    await until(() => stalled, 2000, "the stale tab's status call reaching the runner").catch(() => undefined);
    expect(stalled).toBe(true);
    const first = await tab.get("/status");
    expect(first.status).toBe(200);
    release();
    expect((await racing).status).toBe(409);
  });
});

describe("logout", () => {
  it("ends the session server-side, clears the cookie with the same attributes, and the old cookie is dead", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const cookie = browser.cookie;
    const res = await browser.post("/logout");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(res.headers.get("set-cookie")).toBe("__Host-codex_sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
    expect(browser.cookie).toBeNull();
    const replay = new Browser(handler);
    replay.cookie = cookie;
    expect((await replay.get("/status")).status).toBe(401);
    expect((await replay.post("/run/stream", { prompt: "x" })).status).toBe(401);
  });

  it("deletes the session even when runner.logout throws, and logs the failure redacted", async () => {
    const lines: string[] = [];
    const runner = createTestRunner({ logoutError: new Error("revoke failed for Bearer eyJabc.eyJdef.ghi at /home/ann/.codex/auth.json") });
    const { handler } = makeHarness({ logger: { warn: (m, f) => lines.push(m + JSON.stringify(f)) } }, runner);
    const browser = new Browser(handler);
    await browser.signIn(runner);
    const cookie = browser.cookie;
    expect((await browser.post("/logout")).status).toBe(200);
    const replay = new Browser(handler);
    replay.cookie = cookie;
    expect((await replay.get("/status")).status).toBe(401);
    expect(lines.join("\n")).toMatch(/revoke failed/);
    expect(lines.join("\n")).not.toMatch(/eyJabc|\/home\/ann/);
  });

  it("answers {} and clears the cookie without a session", async () => {
    const { handler } = makeHarness();
    const res = await new Browser(handler).post("/logout");
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });
});

describe("runner state persistence", () => {
  it("persists ctx.data after each call and via ctx.save in the middle of a run", async () => {
    const runner = createTestRunner({
      run: async function* (ctx) {
        ctx.data.refreshedAt = 1;
        await ctx.save?.();
        yield { type: "assistant-text", mode: "append", text: "a" };
        ctx.data.refreshedAt = 2;
        yield { type: "done", result: {} };
      },
    });
    const { handler, store } = makeHarness({}, runner);
    const browser = new Browser(handler);
    await browser.signIn(runner);
    let sawMidRun = false;
    runner.getStatus = async (ctx) => {
      sawMidRun ||= ctx.data.refreshedAt === 1;
      return { status: "authenticated", account: { email: null } };
    };
    const res = await browser.post("/run/stream", { prompt: "p" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await browser.get("/status"); // a second tab reads the session mid-run
    while (!(await reader.read()).done);
    expect(sawMidRun).toBe(true);
    let final: unknown;
    runner.getStatus = async (ctx) => {
      final = ctx.data.refreshedAt;
      return { status: "authenticated", account: { email: null } };
    };
    await browser.get("/status");
    expect(final).toBe(2);
    expect(store.size).toBeGreaterThan(0);
  });
});

describe("the default store", () => {
  it("shares the handler's injected clock, so creation times and expiry agree", async () => {
    const { createCodexHandler } = await import("../../../src/backend/core/handler.js");
    const { SECRET } = await import("../../support/handler-harness.js");
    const c = clock(1_000_000_000_000); // far from Date.now: a store on the wall clock would call it expired
    const runner = createTestRunner();
    const browser = new Browser(createCodexHandler({ runner, cookieSecret: SECRET, rateLimits: false, now: c.now }));
    await browser.signIn(runner);
    expect((await browser.get("/status")).status).toBe(200);
    c.advance(25 * 60 * MINUTE); // past the default 24 h idle timeout
    expect((await browser.get("/status")).status).toBe(401);
  });
});

describe("opened-data cache (openedCacheSize)", () => {
  /** Counts its getStatus calls in ctx.data: each poll must see the count the previous one saved. */
  function countingRunner(): CodexRunner {
    return {
      async startDeviceLogin() {
        return { status: "started", loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-1234", expiresAt: Date.now() + 60_000 };
      },
      async getStatus(ctx) {
        const seen = typeof ctx.data.polls === "number" ? ctx.data.polls : 0;
        ctx.data.polls = seen + 1;
        // Mutating what we were given must never leak into the next read of the same sealed bytes.
        ctx.data.scratch = { mutated: true };
        delete ctx.data.scratch;
        return seen + 1 >= 4 ? { status: "authenticated", account: { email: `polls-${seen + 1}@example.com` } } : { status: "pending" };
      },
      async *run() {
        yield { type: "done", result: {} };
      },
      async logout() {},
    };
  }

  it.each([0, 1, 512])("with size %i, every poll reads what the previous one saved (never a stale copy)", async (openedCacheSize) => {
    const { handler, store } = makeHarness({ openedCacheSize }, countingRunner() as never);
    const browser = new Browser(handler);
    await browser.post("/session");
    await browser.post("/login/start");
    for (let i = 1; i <= 3; i++) expect(await (await browser.get("/status")).json()).toEqual({ ok: false, status: "pending" });
    const done = await browser.get("/status");
    expect(await done.json()).toEqual({ ok: true, account: { email: "polls-4@example.com" } });
    // The store still holds only sealed data.
    expect(store.dump()).not.toContain("polls");
  });

  it("refuses a size that is not a whole number ≥ 0", () => {
    for (const openedCacheSize of [-1, 1.5, Number.NaN]) {
      expect(() => makeHarness({ openedCacheSize })).toThrow(/openedCacheSize/);
    }
  });
});

describe("opened copies do not outlive what the store holds", () => {
  it("a write replaces the old version's opened copy, and a delete drops the last one", async () => {
    const opts = resolveOptions({ runner: createTestRunner(), cookieSecret: "opened-copies-Secret-8Zq3Lx7Wm2" });
    const sessions = new SessionManager(opts);
    const { session } = await sessions.create();
    session.data = { tokens: { accessToken: "first-version-token" } };
    await sessions.persist(session);
    const first = session.sealed;
    expect(first).toMatch(/^v1\./);
    expect(opts.sealer.holdsOpened(first)).toBe(true); // written, so its next read needs no decryption

    session.data = { tokens: { accessToken: "second-version-token" } };
    await sessions.persist(session);
    expect(session.sealed).not.toBe(first);
    expect(opts.sealer.holdsOpened(first)).toBe(false);
    expect(opts.sealer.holdsOpened(session.sealed)).toBe(true);

    const last = session.sealed;
    await sessions.delete(session);
    expect(opts.sealer.holdsOpened(last)).toBe(false);
  });
});
