// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCodexClient } from "../../src/client/client.js";
import { MARKER_KEY } from "../../src/client/marker.js";
import { HOLDING_TEXT } from "../../src/client/popup.js";
import type { CodexClientConfig, CodexState } from "../../src/client/types.js";

const LOGIN_URL = "https://auth.openai.com/codex/device";
const ACCOUNT = { email: "user@example.com", planType: "plus" };

type Answer = [status: number, body: unknown];
/** An in-memory stand-in for the backend: per-route answer queues, every request recorded. */
function fakeBackend(routes: Record<string, Answer | Answer[] | (() => Answer | Promise<Answer>)>) {
  const requests: { method: string; url: string; init: RequestInit }[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    requests.push({ method: init.method ?? "GET", url, init });
    const path = /\/(session|login\/start|status|run\/stream|logout)$/.exec(new URL(url, "http://app.test").pathname)?.[0] ?? "";
    const r = routes[path];
    if (!r) throw new TypeError("Failed to fetch");
    const [status, body] =
      typeof r == "function" ? await r() : Array.isArray(r[0]) ? ((r as Answer[]).length > 1 ? (r as Answer[]).shift()! : (r as Answer[])[0]!) : (r as Answer);
    return new Response(typeof body == "string" ? body : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, spy: fetch, requests, paths: () => requests.map((r) => `${r.method} ${new URL(r.url, "http://app.test").pathname}`) };
}

/** A stand-in for the popup window: records the navigation and the close. */
function fakePopup() {
  const p = {
    opener: window as unknown,
    closed: false,
    close: vi.fn(() => void (p.closed = true)),
    document: { body: { textContent: "", innerHTML: "" } },
    location: { replace: vi.fn() },
  };
  return p;
}

const started = { ok: true, loginUrl: LOGIN_URL, userCode: "ABCD-EFGH", expiresAt: 0 };
let popup: ReturnType<typeof fakePopup>;
let openSpy: ReturnType<typeof vi.fn>;

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  started.expiresAt = Date.now() + 15 * 60_000;
  localStorage.clear();
  popup = fakePopup();
  openSpy = vi.fn(() => popup);
  vi.stubGlobal("open", openSpy);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const client = (routes: Parameters<typeof fakeBackend>[0], config: CodexClientConfig = {}) => {
  const be = fakeBackend({ "/session": [200, { ok: true }], "/login/start": [200, started], ...routes });
  const c = createCodexClient({ fetch: be.fetch, pollIntervalMs: 1000, ...config });
  const seen: CodexState["status"][] = [];
  c.subscribe(() => seen.push(c.getState().status));
  const stop = c.start();
  return { c, be, seen, stop };
};

describe("login", () => {
  it("opens the popup synchronously, before any request, and writes only the static holding text", () => {
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }] });
    void c.login();
    // Still inside the click handler's task: the popup exists, and it came before the first request.
    expect(openSpy).toHaveBeenCalledExactlyOnceWith("", "_blank", expect.any(String));
    expect(openSpy.mock.invocationCallOrder[0]).toBeLessThan(be.spy.mock.invocationCallOrder[0] ?? Infinity);
    expect(popup.document.body.textContent).toBe(HOLDING_TEXT);
    expect(popup.document.body.innerHTML).toBe("");
    // The login page gets no handle on this tab.
    expect(popup.opener).toBeNull();
  });

  it("creates the session, starts the login, navigates the popup and waits", async () => {
    const { c, be, seen } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await c.login();
    expect(be.paths()).toEqual(["POST /api/codex/session", "POST /api/codex/login/start"]);
    for (const r of be.requests) {
      expect(r.init.credentials).toBe("same-origin");
      expect(new Headers(r.init.headers).get("content-type")).toBe("application/json");
      expect(r.init.body).toBe("{}");
    }
    expect(popup.location.replace).toHaveBeenCalledExactlyOnceWith(LOGIN_URL);
    expect(c.getState()).toMatchObject({
      status: "waitingForLogin",
      userCode: "ABCD-EFGH",
      loginUrl: LOGIN_URL,
      expiresAt: started.expiresAt,
      popupBlocked: false,
      error: null,
    });
    expect(seen).toEqual(["connecting", "waitingForLogin"]);
  });

  it("signs in once /status says so, closes the popup and writes a marker without the email", async () => {
    const { c, be } = client({
      "/status": [
        [200, { ok: false, status: "pending" }],
        [200, { ok: false, status: "pending" }],
        [200, { ok: true, account: ACCOUNT }],
      ],
    });
    const onChange = vi.fn();
    c.subscribe(onChange);
    await c.login();
    await vi.advanceTimersByTimeAsync(3000);
    expect(c.getState()).toMatchObject({ status: "authenticated", account: ACCOUNT, userCode: null });
    expect(be.paths().filter((p) => p.endsWith("/status"))).toHaveLength(3);
    expect(be.requests.at(-1)!.init.credentials).toBe("same-origin");
    expect(popup.close).toHaveBeenCalled();
    const marker = JSON.parse(localStorage.getItem(MARKER_KEY)!);
    expect(marker).toEqual({ loggedIn: true, savedAt: Date.now() });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(be.paths().filter((p) => p.endsWith("/status"))).toHaveLength(3);
  });

  it("keeps the account in the marker only with persistAccount", async () => {
    const { c } = client({ "/status": [200, { ok: true, account: ACCOUNT }] }, { persistAccount: true });
    await c.login();
    await vi.advanceTimersByTimeAsync(1000);
    expect(JSON.parse(localStorage.getItem(MARKER_KEY)!).account).toEqual(ACCOUNT);
  });

  it("keeps polling through 409 SESSION_ROTATED and 5xx, and never signs out on them", async () => {
    const { c } = client({
      "/status": [
        [409, { ok: false, status: "rotated", code: "SESSION_ROTATED", error: "rotated" }],
        [503, { code: "UPSTREAM_UNAVAILABLE", error: "down" }],
        [200, { ok: false, status: "pending" }],
        [502, "<html>Bad gateway</html>"],
        [200, { ok: true, account: ACCOUNT }],
      ],
    });
    await c.login();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(c.getState().status).toBe("authenticated");
  });

  it("signs out on a definitive 401 while waiting", async () => {
    const { c } = client({ "/status": [401, { ok: false, status: "logged_out" }] });
    await c.login();
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.getState().status).toBe("loggedOut");
    expect(popup.close).toHaveBeenCalled();
  });

  it("reports a code the upstream expired or denied", async () => {
    const { c } = client({ "/status": [200, { ok: false, status: "denied", code: "LOGIN_DENIED", error: "Denied." }] });
    await c.login();
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "LOGIN_DENIED", message: "Denied." } });
  });

  it("ends with EXPIRED when the code runs out before approval", async () => {
    started.expiresAt = Date.now() + 5_500;
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await c.login();
    await vi.advanceTimersByTimeAsync(5_500);
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "EXPIRED" } });
    const polls = be.paths().filter((p) => p.endsWith("/status")).length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(be.paths().filter((p) => p.endsWith("/status"))).toHaveLength(polls);
  });

  it("gives up with STATUS_FAILED when /status keeps failing", async () => {
    const { c } = client({ "/status": [500, { code: "INTERNAL", error: "x" }] });
    await c.login();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "STATUS_FAILED" } });
  });

  it.each([
    ["javascript:", "javascript:alert(document.cookie)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["http:", "http://auth.openai.com/codex/device"],
    ["userinfo", "https://auth.openai.com@evil.test/codex/device"],
    ["a lookalike host", "https://auth.openai.com.evil.test/codex/device"],
    ["no URL at all", undefined],
  ])("refuses a %s login URL: never navigates, closes the popup", async (_why, loginUrl) => {
    const { c } = client({ "/login/start": [200, { ...started, loginUrl }] });
    await c.login();
    expect(popup.location.replace).not.toHaveBeenCalled();
    expect(popup.close).toHaveBeenCalled();
    expect(c.getState()).toMatchObject({ status: "error", loginUrl: null, error: { code: "INVALID_LOGIN_URL" } });
  });

  it("allows the simulator's page when its exact loopback origin is configured", async () => {
    const sim = "http://127.0.0.1:8787";
    const { c } = client({ "/login/start": [200, { ...started, loginUrl: `${sim}/codex/device` }] }, { allowedLoginOrigins: [sim] });
    await c.login();
    expect(popup.location.replace).toHaveBeenCalledWith(`${sim}/codex/device`);
  });

  it("offers the link when the popup was blocked", async () => {
    openSpy.mockReturnValue(null);
    const { c } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await c.login();
    expect(c.getState()).toMatchObject({ status: "waitingForLogin", popupBlocked: true, loginUrl: LOGIN_URL });
  });

  it("offers the link when the user closed the popup before it could navigate", async () => {
    const { c } = client({ "/status": [200, { ok: false, status: "pending" }] });
    const p = c.login();
    popup.closed = true;
    await p;
    expect(c.getState()).toMatchObject({ status: "waitingForLogin", popupBlocked: true });
  });

  it("can log in without a popup at all", async () => {
    const { c } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await c.login(false);
    expect(openSpy).not.toHaveBeenCalled();
    expect(c.getState()).toMatchObject({ status: "waitingForLogin", popupBlocked: true });
  });

  it("explains DEVICE_AUTH_NOT_ENABLED and closes the popup", async () => {
    const { c } = client({
      "/login/start": [200, { errorCode: "DEVICE_AUTH_NOT_ENABLED", code: "DEVICE_AUTH_NOT_ENABLED", error: "Enable device code login." }],
    });
    await c.login();
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "DEVICE_AUTH_NOT_ENABLED" } });
    expect(popup.close).toHaveBeenCalled();
  });

  it("passes on the server's code for errors before the login starts", async () => {
    const { c } = client({ "/login/start": [429, { code: "RATE_LIMITED", error: "Slow down.", retryAfter: 30 }] });
    await c.login();
    expect(c.getState().error).toEqual({ code: "RATE_LIMITED", message: "Slow down.", retryAfter: 30, resetsAt: undefined });
  });

  it("reports NETWORK when the backend cannot be reached", async () => {
    const { c } = client({ "/session": () => Promise.reject(new TypeError("Failed to fetch")) });
    await c.login();
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "NETWORK" } });
    expect(popup.close).toHaveBeenCalled();
  });

  it("reports BAD_RESPONSE for an answer without a code, and keeps a gateway's error object out of the message", async () => {
    const { c } = client({ "/login/start": [502, { error: { message: "gateway" } }] });
    await c.login();
    expect(c.getState().error).toMatchObject({ code: "BAD_RESPONSE", message: "BAD_RESPONSE" });
  });

  it("lets an exception thrown by the app's listener reach the caller of login() as itself, not as a NETWORK error", async () => {
    const { c } = client({ "/status": [200, { ok: false, status: "pending" }] });
    const bug = new Error("the app's own bug");
    c.subscribe(() => {
      if (c.getState().status === "waitingForLogin") throw bug;
    });
    await expect(c.login()).rejects.toBe(bug);
    expect(c.getState()).toMatchObject({ status: "waitingForLogin", error: null });
  });

  it("starts one login only, however often it is clicked while connecting", async () => {
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }] });
    const first = c.login();
    void c.login();
    void c.login();
    await first;
    expect(be.paths().filter((p) => p.endsWith("/login/start"))).toHaveLength(1);
    expect(openSpy).toHaveBeenCalledTimes(1);
  });

  it("confirms with /status when the session is already signed in", async () => {
    const { c } = client({ "/login/start": [200, { ok: true, loggedIn: true }], "/status": [200, { ok: true, account: ACCOUNT }] });
    await c.login();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState()).toMatchObject({ status: "authenticated", account: ACCOUNT });
    expect(popup.close).toHaveBeenCalled();
  });

  it("cancels: back to idle, popup closed, no more polling, late answers ignored", async () => {
    let release!: (a: Answer) => void;
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }], "/login/start": () => new Promise<Answer>((r) => (release = r)) });
    const p = c.login();
    await vi.advanceTimersByTimeAsync(0);
    c.cancelLogin();
    release([200, started]);
    await p;
    expect(c.getState()).toMatchObject({ status: "idle", userCode: null });
    expect(popup.close).toHaveBeenCalled();
    expect(popup.location.replace).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(be.paths().filter((p) => p.endsWith("/status"))).toHaveLength(0);
  });

  it("starts over with a fresh popup and a fresh code", async () => {
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await c.login();
    const first = popup;
    popup = fakePopup();
    openSpy.mockReturnValue(popup);
    await c.login();
    expect(first.close).toHaveBeenCalled();
    expect(popup.location.replace).toHaveBeenCalledWith(LOGIN_URL);
    expect(be.paths().filter((p) => p.endsWith("/login/start"))).toHaveLength(2);
  });

  it.each(["/auth/", "/auth//"])("ignores the trailing slash of basePath %s, so no route is asked for with //", async (basePath) => {
    const { c, be } = client({ "/status": [200, { ok: false, status: "pending" }] }, { basePath });
    await c.login();
    await vi.advanceTimersByTimeAsync(1000);
    expect(be.requests.map((r) => r.url)).toEqual(["/auth/session", "/auth/login/start", "/auth/status"]);
  });

  it("uses basePath, per-route endpoints and the configured credentials", async () => {
    const { c, be } = client(
      { "/status": [200, { ok: false, status: "pending" }] },
      { basePath: "/auth", endpoints: { loginStart: "https://api.example.com/codex/login/start" }, credentials: "include" },
    );
    await c.login();
    expect(be.requests.map((r) => r.url)).toEqual(["/auth/session", "https://api.example.com/codex/login/start"]);
    expect(be.requests.every((r) => r.init.credentials == "include")).toBe(true);
  });
});

describe("resume and logout", () => {
  const mark = (savedAt = Date.now()) => localStorage.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt }));

  it("starts in resuming with a fresh marker and confirms with /status", async () => {
    mark();
    const { c, be } = client({ "/status": [200, { ok: true, account: ACCOUNT }] });
    expect(be.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState()).toMatchObject({ status: "authenticated", account: ACCOUNT });
    expect(be.paths()).toEqual(["GET /api/codex/status"]);
  });

  it("is resuming from its very first state, so no login button flashes", () => {
    mark();
    const c = createCodexClient({ fetch: fakeBackend({}).fetch });
    expect(c.getState().status).toBe("resuming");
  });

  it("shows the persisted account while resuming when persistAccount was on", () => {
    localStorage.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt: Date.now(), account: ACCOUNT }));
    expect(createCodexClient({ fetch: fakeBackend({}).fetch }).getState()).toMatchObject({ status: "resuming", account: ACCOUNT });
  });

  it("does not resume from a marker older than resumeMaxAgeMs, and asks nothing", async () => {
    mark(Date.now() - 2 * 3600_000);
    const { c, be } = client({ "/status": [200, { ok: true, account: ACCOUNT }] }, { resumeMaxAgeMs: 3600_000 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.getState().status).toBe("idle");
    expect(be.requests).toHaveLength(0);
    expect(localStorage.getItem(MARKER_KEY)).toBeNull();
  });

  it("signs out and drops the marker when /status says logged_out", async () => {
    mark();
    const { c } = client({ "/status": [401, { ok: false, status: "logged_out" }] });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState().status).toBe("loggedOut");
    expect(localStorage.getItem(MARKER_KEY)).toBeNull();
  });

  it("goes idle when the session exists but is not signed in", async () => {
    mark();
    const { c } = client({ "/status": [200, { ok: false, status: "pending" }] });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState().status).toBe("idle");
    expect(localStorage.getItem(MARKER_KEY)).toBeNull();
  });

  it("rides out a rotation race while resuming", async () => {
    mark();
    const { c } = client({
      "/status": [
        [409, { ok: false, status: "rotated", code: "SESSION_ROTATED", error: "rotated" }],
        [200, { ok: true, account: ACCOUNT }],
      ],
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.getState().status).toBe("authenticated");
  });

  it("ignores storage disabled with null", async () => {
    mark();
    const { c, be } = client({}, { storage: null });
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.getState().status).toBe("idle");
    expect(be.requests).toHaveLength(0);
  });

  it("logs out: POST /logout, marker removed, loggedOut", async () => {
    mark();
    const { c, be } = client({ "/status": [200, { ok: true, account: ACCOUNT }], "/logout": [200, {}] });
    await vi.advanceTimersByTimeAsync(0);
    await c.logout();
    expect(be.paths().at(-1)).toBe("POST /api/codex/logout");
    expect(be.requests.at(-1)!.init.body).toBe("{}");
    expect(c.getState()).toMatchObject({ status: "loggedOut", account: null });
    expect(localStorage.getItem(MARKER_KEY)).toBeNull();
  });

  it("logs out when the first logout races a session rotation (409 SESSION_ROTATED), by asking once more", async () => {
    mark();
    const rotated: Answer = [409, { ok: false, status: "rotated", code: "SESSION_ROTATED", error: "rotated" }];
    const { c, be } = client({ "/status": [200, { ok: true, account: ACCOUNT }], "/logout": [rotated, [200, {}]] });
    await vi.advanceTimersByTimeAsync(0);
    await c.logout();
    expect(be.paths().filter((p) => p.endsWith("/logout"))).toHaveLength(2);
    expect(c.getState()).toMatchObject({ status: "loggedOut", account: null });
    expect(localStorage.getItem(MARKER_KEY)).toBeNull();
  });

  it("keeps the marker and says so when the logout request fails", async () => {
    mark();
    const { c } = client({ "/status": [200, { ok: true, account: ACCOUNT }], "/logout": () => Promise.reject(new TypeError("offline")) });
    await vi.advanceTimersByTimeAsync(0);
    await c.logout();
    expect(c.getState()).toMatchObject({ status: "error", error: { code: "NETWORK" } });
    expect(localStorage.getItem(MARKER_KEY)).not.toBeNull();
  });

  it("follows a logout in another tab (the marker's removal arrives as a storage event)", async () => {
    mark();
    const { c, be } = client({ "/status": [200, { ok: true, account: ACCOUNT }] });
    await vi.advanceTimersByTimeAsync(0);
    const requests = be.requests.length;
    window.dispatchEvent(new StorageEvent("storage", { key: MARKER_KEY, oldValue: "{}", newValue: null }));
    expect(c.getState().status).toBe("loggedOut");
    expect(be.requests).toHaveLength(requests);
  });

  it("ignores storage events for other keys, and stops listening after stop()", async () => {
    mark();
    const { c, stop } = client({ "/status": [200, { ok: true, account: ACCOUNT }] });
    await vi.advanceTimersByTimeAsync(0);
    window.dispatchEvent(new StorageEvent("storage", { key: "something-else", newValue: null }));
    expect(c.getState().status).toBe("authenticated");
    stop();
    window.dispatchEvent(new StorageEvent("storage", { key: MARKER_KEY, newValue: null }));
    expect(c.getState().status).toBe("authenticated");
  });

  it("creates without touching window when there is none (SSR)", async () => {
    vi.stubGlobal("localStorage", undefined);
    const c = createCodexClient({ fetch: fakeBackend({}).fetch });
    expect(c.getState().status).toBe("idle");
  });
});
