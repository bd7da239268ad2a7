/**
 * The browser client driven against the real handler (memory store, test
 * runner): every request goes through createCodexHandler with a cookie jar and
 * the same-origin headers a browser adds, so the client speaks the real contract.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCodexClient } from "../../src/client/client.js";
import { MARKER_KEY } from "../../src/client/marker.js";
import type { CodexClient, CodexClientConfig, CodexStatus } from "../../src/client/types.js";
import { APP, Browser, makeHarness, sameOrigin, type Harness } from "../support/handler-harness.js";

/** fetch as a same-origin page on APP would do it, through one browser's cookie jar. */
const browserFetch = (browser: Browser) =>
  (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(sameOrigin())) if (init.method == "POST" || k != "origin") headers.set(k, v);
    if (browser.cookie) headers.set("cookie", browser.cookie);
    return browser.send(new Request(new URL(String(input), APP), { ...init, headers }));
  }) as typeof fetch;

const memoryStorage = () => {
  const m = new Map<string, string>();
  return { map: m, getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
};

let h: Harness;
let browser: Browser;
let storage: ReturnType<typeof memoryStorage>;
const stops: (() => void)[] = [];

beforeEach(() => {
  // Node has no window events; the client only listens for storage events there.
  vi.stubGlobal("addEventListener", () => {});
  vi.stubGlobal("removeEventListener", () => {});
  h = makeHarness({ cookieOptions: { secure: false } });
  browser = new Browser(h.handler);
  storage = memoryStorage();
});
afterEach(() => {
  stops.splice(0).forEach((s) => s());
  vi.unstubAllGlobals();
});

const tab = (config: CodexClientConfig = {}): CodexClient => {
  const c = createCodexClient({ fetch: browserFetch(browser), storage, pollIntervalMs: 15, ...config });
  stops.push(c.start());
  return c;
};
const until = (c: CodexClient, status: CodexStatus) => vi.waitFor(() => expect(c.getState().status).toBe(status), { timeout: 5000, interval: 5 });
const signIn = async (c: CodexClient) => {
  await c.login(false);
  expect(c.getState().status).toBe("waitingForLogin");
  h.runner.approve();
  await until(c, "authenticated");
};

describe("client against the real handler", () => {
  it("logs in through the device flow, with the cookie rotated on sign-in", async () => {
    const c = tab();
    await c.login(false);
    expect(c.getState()).toMatchObject({ status: "waitingForLogin", userCode: "ABCD-1001", loginUrl: "https://auth.openai.com/codex/device" });
    const before = browser.cookie;
    // Three polls answered "pending" leave it waiting (counted at the runner, whose answer it is).
    let pendingPolls = 0;
    const realGetStatus = h.runner.getStatus.bind(h.runner);
    h.runner.getStatus = async (ctx) => {
      const status = await realGetStatus(ctx);
      if (status.status === "pending") pendingPolls += 1;
      return status;
    };
    await vi.waitFor(() => expect(pendingPolls).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 });
    expect(c.getState().status).toBe("waitingForLogin");
    h.runner.approve();
    await until(c, "authenticated");
    expect(c.getState().account).toEqual({ email: "ann@example.com", planType: "plus" });
    expect(browser.cookie).not.toBe(before);
    expect(JSON.parse(storage.map.get(MARKER_KEY)!)).toEqual({ loggedIn: true, savedAt: expect.any(Number) });
  });

  it("streams a run and rebuilds the answer; hostile text arrives verbatim", async () => {
    const c = tab();
    await signIn(c);
    const hostile = "<img src=x onerror=alert(1)>";
    const texts: string[] = [];
    let answer = "";
    await c.run(`hello ${hostile}`, { onText: (_t, _m, full) => texts.push(full), onDone: (r) => (answer = r.text), onError: (e) => (answer = e.code) }).done;
    expect(answer).toBe(`Echo: hello ${hostile}`);
    expect(texts.at(-1)).toBe(answer);
    expect(texts.length).toBeGreaterThan(1);
  });

  it("signs in and runs with a basePath written with a trailing slash", async () => {
    const c = tab({ basePath: "/api/codex/" });
    await signIn(c);
    let answer = "";
    await c.run("hi", { onDone: (r) => (answer = r.text), onError: (e) => (answer = e.code) }).done;
    expect(answer).toBe("Echo: hi");
  });

  it("signs neither of two tabs out when both poll across the rotation", async () => {
    const a = tab(), b = tab();
    await a.login(false);
    // The second tab watches the same session (it resumes from the marker-less state by polling too).
    const seen: CodexStatus[] = [];
    b.subscribe(() => seen.push(b.getState().status));
    await b.login(false);
    h.runner.approve();
    await until(a, "authenticated");
    await until(b, "authenticated");
    expect(seen).not.toContain("loggedOut");
    expect(h.runner.exchanges).toBe(1);
  });

  it("resumes in a new tab from the marker and the cookie", async () => {
    await signIn(tab());
    const fresh = tab();
    expect(fresh.getState().status).toBe("resuming");
    await until(fresh, "authenticated");
  });

  it("logs out: the server forgets the session, and a later resume ends signed out", async () => {
    const c = tab();
    await signIn(c);
    await c.logout();
    expect(c.getState().status).toBe("loggedOut");
    expect(storage.map.has(MARKER_KEY)).toBe(false);
    expect(h.runner.logouts).toBe(1);
    storage.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt: Date.now() }));
    const later = tab();
    await until(later, "loggedOut");
  });

  it("refuses a run without a session (NO_SESSION) and signs out", async () => {
    const c = tab();
    let code = "";
    await c.run("hi", { onError: (e) => (code = e.code) }).done;
    expect(code).toBe("NO_SESSION");
    expect(c.getState().status).toBe("loggedOut");
  });

  it("refuses a run on a session that is not signed in (NOT_AUTHENTICATED) and signs out", async () => {
    const c = tab();
    await c.login(false);
    c.cancelLogin();
    let code = "";
    await c.run("hi", { onError: (e) => (code = e.code) }).done;
    expect(code).toBe("NOT_AUTHENTICATED");
    expect(c.getState().status).toBe("loggedOut");
  });

  it("reports a code the upstream expired", async () => {
    const c = tab();
    await c.login(false);
    h.runner.fail("expired");
    await until(c, "error");
    expect(c.getState().error?.code).toBe("LOGIN_EXPIRED");
  });

  it("sends what the handler demands: JSON content type on POSTs, a CSRF-safe same-origin request", async () => {
    const seen: Request[] = [];
    const send = browser.send.bind(browser);
    browser.send = (r) => (seen.push(r.clone()), send(r));
    await signIn(tab());
    for (const r of seen.filter((r) => r.method == "POST")) {
      expect(r.headers.get("content-type")).toBe("application/json");
      expect(await r.text()).toBe("{}");
    }
  });
});
