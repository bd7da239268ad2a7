// @vitest-environment happy-dom
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { StrictMode, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MARKER_KEY } from "../../src/client/marker.js";
import { useCodexAuth, type CodexAuthOptions } from "../../src/index.js";

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const ACCOUNT = { email: "user@example.com" };

function backend(status: () => Response = () => json(200, { ok: false, status: "pending" })) {
  const calls: string[] = [];
  const fetch = vi.fn(async (url: RequestInfo | URL) => {
    const path = String(url).replace("/api/codex", "");
    calls.push(path);
    if (path == "/session") return json(200, { ok: true });
    if (path == "/login/start") return json(200, { loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-EFGH", expiresAt: Date.now() + 60_000 });
    if (path == "/logout") return json(200, {});
    return status();
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}
const strict = ({ children }: { children: ReactNode }) => <StrictMode>{children}</StrictMode>;

beforeEach(() => {
  localStorage.clear();
  vi.stubGlobal("open", () => null);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("useCodexAuth", () => {
  it("creates its client once, even with inline option objects on every render", () => {
    const be = backend();
    const { result, rerender } = renderHook((o: CodexAuthOptions) => useCodexAuth({ ...o }), { initialProps: { fetch: be.fetch } as CodexAuthOptions });
    const first = result.current.client;
    rerender({ fetch: be.fetch, pollIntervalMs: 5 });
    rerender({ fetch: be.fetch });
    expect(result.current.client).toBe(first);
  });

  it("exposes the state and the actions", () => {
    const { result } = renderHook(() => useCodexAuth({ fetch: backend().fetch }));
    expect(result.current).toMatchObject({ status: "idle", account: null, userCode: null, popupBlocked: false, error: null });
    for (const k of ["login", "logout", "cancelLogin", "run", "copyUserCode"] as const) expect(typeof result.current[k]).toBe("function");
  });

  it("logs in once under StrictMode", async () => {
    const be = backend();
    const { result } = renderHook(() => useCodexAuth({ fetch: be.fetch, pollIntervalMs: 60_000 }), { wrapper: strict });
    await act(() => result.current.login());
    expect(result.current.status).toBe("waitingForLogin");
    expect(be.calls).toEqual(["/session", "/login/start"]);
  });

  it("cancels a login and keeps polling stopped", async () => {
    const be = backend();
    const { result } = renderHook(() => useCodexAuth({ fetch: be.fetch, pollIntervalMs: 5 }));
    await act(() => result.current.login());
    act(() => result.current.cancelLogin());
    expect(result.current.status).toBe("idle");
    const n = be.calls.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(be.calls).toHaveLength(n);
  });

  it("calls onAuthenticated, onLogout and onError on their transitions, with the latest callbacks", async () => {
    localStorage.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt: Date.now() }));
    const be = backend(() => json(200, { ok: true, account: ACCOUNT }));
    const stale = vi.fn();
    const onAuthenticated = vi.fn();
    const onLogout = vi.fn();
    const onError = vi.fn();
    const { result, rerender } = renderHook((o: CodexAuthOptions) => useCodexAuth(o), {
      initialProps: { fetch: be.fetch, onAuthenticated: stale } as CodexAuthOptions,
    });
    rerender({ fetch: be.fetch, onAuthenticated, onLogout, onError });
    await waitFor(() => expect(result.current.status).toBe("authenticated"));
    expect(onAuthenticated).toHaveBeenCalledExactlyOnceWith(ACCOUNT);
    expect(stale).not.toHaveBeenCalled();
    await act(() => result.current.logout());
    expect(onLogout).toHaveBeenCalledOnce();
    expect(onError).not.toHaveBeenCalled();
  });

  it("reports login and run errors through onError", async () => {
    const onError = vi.fn();
    const fetch = vi.fn(async () => json(503, { code: "UPSTREAM_UNAVAILABLE", error: "down" })) as unknown as typeof globalThis.fetch;
    const { result } = renderHook(() => useCodexAuth({ fetch, onError }));
    await act(() => result.current.login());
    expect(onError).toHaveBeenLastCalledWith(expect.objectContaining({ code: "UPSTREAM_UNAVAILABLE" }));
    const own = vi.fn();
    await act(() => result.current.run("hi", { onError: own }).done);
    expect(own).toHaveBeenCalledWith(expect.objectContaining({ code: "UPSTREAM_UNAVAILABLE" }));
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it("stops polling when the component unmounts", async () => {
    const be = backend();
    const { result, unmount } = renderHook(() => useCodexAuth({ fetch: be.fetch, pollIntervalMs: 5 }));
    await act(() => result.current.login());
    unmount();
    const n = be.calls.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(be.calls).toHaveLength(n);
  });
});
