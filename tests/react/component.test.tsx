// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MARKER_KEY } from "../../src/client/marker.js";
import { CodexAuth, DEFAULT_LABELS } from "../../src/index.js";
import { CSS } from "../../src/react/styles.js";

const LOGIN_URL = "https://auth.openai.com/codex/device";
const ACCOUNT = { email: "user@example.com" };
const enc = new TextEncoder();

type Handler = (init: RequestInit) => Response | Promise<Response>;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const stream = (events: unknown[], hold?: Promise<void>) =>
  new Response(
    new ReadableStream<Uint8Array>({
      async start(c) {
        for (const e of events) c.enqueue(enc.encode(JSON.stringify(e) + "\n"));
        await hold;
        c.close();
      },
    }),
    { headers: { "content-type": "application/x-ndjson" } },
  );

/** A fake backend keyed by route; unlisted routes answer like a fresh, pending login. */
function backend(routes: Record<string, Handler> = {}) {
  const calls: string[] = [];
  const base: Record<string, Handler> = {
    "/session": () => json(200, { ok: true }),
    "/login/start": () => json(200, { loginUrl: LOGIN_URL, userCode: "ABCD-EFGH", expiresAt: Date.now() + 15 * 60_000 }),
    "/status": () => json(200, { ok: false, status: "pending" }),
    "/logout": () => json(200, {}),
    ...routes,
  };
  const fetch = vi.fn(async (url: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(url).replace("/api/codex", "");
    calls.push(path);
    return base[path]!(init);
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

let popup: { closed: boolean; close: () => void; opener: unknown; document: { body: { textContent: string } }; location: { replace: ReturnType<typeof vi.fn> } };
beforeEach(() => {
  localStorage.clear();
  popup = { closed: false, close: () => void (popup.closed = true), opener: {}, document: { body: { textContent: "" } }, location: { replace: vi.fn() } };
  vi.stubGlobal("open", vi.fn(() => popup));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const signedIn = () => {
  localStorage.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt: Date.now() }));
  return { "/status": () => json(200, { ok: true, account: ACCOUNT }) };
};
const loginButton = () => screen.getByRole("button", { name: "Login with ChatGPT" });

describe("<CodexAuth> default UI", () => {
  it("offers Login with ChatGPT, then shows the code large with copy, countdown and Start over", async () => {
    const be = backend();
    render(<CodexAuth fetch={be.fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    const code = await screen.findByText("ABCD-EFGH");
    expect(code.className).toContain("codex-auth-code");
    expect(code.closest("[aria-live]")).not.toBeNull();
    expect(screen.getByRole("button", { name: "Copy code" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Start over" })).toBeTruthy();
    expect(screen.getByText(/Expires in 1[45]:\d\d/)).toBeTruthy();
    expect(popup.location.replace).toHaveBeenCalledWith(LOGIN_URL);
  });

  it("counts down live to the expiry", async () => {
    const be = backend({ "/login/start": () => json(200, { loginUrl: LOGIN_URL, userCode: "ABCD-EFGH", expiresAt: Date.now() + 65_000 }) });
    render(<CodexAuth fetch={be.fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    const seconds = () => {
      const [, m, s] = /Expires in (\d+):(\d\d)/.exec(document.body.textContent!)!;
      return +m! * 60 + +s!;
    };
    await screen.findByText(/Expires in 1:0[45]/);
    const first = seconds();
    // Ticks on its own, with no re-render from the store (polling is off for a minute).
    await waitFor(() => expect(seconds()).toBe(first - 1), { timeout: 2500 });
  });

  it("copies the code and says Copied", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    render(<CodexAuth fetch={backend().fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    fireEvent.click(await screen.findByRole("button", { name: "Copy code" }));
    await screen.findByText("Copied");
    expect(writeText).toHaveBeenCalledWith("ABCD-EFGH");
  });

  it("says nothing is copied where the clipboard is unavailable", async () => {
    vi.stubGlobal("navigator", { ...navigator, clipboard: undefined });
    render(<CodexAuth fetch={backend().fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    fireEvent.click(await screen.findByRole("button", { name: "Copy code" }));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByText("Copied")).toBeNull();
  });

  it("starts over with a new code", async () => {
    let n = 0;
    const be = backend({ "/login/start": () => json(200, { loginUrl: LOGIN_URL, userCode: `CODE-000${++n}`, expiresAt: Date.now() + 60_000 }) });
    render(<CodexAuth fetch={be.fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    fireEvent.click(await screen.findByRole("button", { name: "Start over" }));
    await screen.findByText("CODE-0002");
  });

  it("shows the popup-blocked fallback link, opening in a new tab without opener or referrer", async () => {
    vi.stubGlobal("open", () => null);
    render(<CodexAuth fetch={backend().fetch} pollIntervalMs={60_000} />);
    fireEvent.click(loginButton());
    const link = await screen.findByRole("link", { name: "Open the login page" });
    expect(link.getAttribute("href")).toBe(LOGIN_URL);
    expect(link.getAttribute("target")).toBe("_blank");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("explains how to enable device code authorization", async () => {
    const be = backend({
      "/login/start": () => json(200, { errorCode: "DEVICE_AUTH_NOT_ENABLED", code: "DEVICE_AUTH_NOT_ENABLED", error: "off" }),
    });
    render(<CodexAuth fetch={be.fetch} />);
    fireEvent.click(loginButton());
    await screen.findByText(/ChatGPT → Settings → Security & Login/);
    expect(loginButton()).toBeTruthy();
  });

  it("says plainly when ChatGPT cannot be reached", async () => {
    const be = backend({ "/login/start": () => json(503, { code: "UPSTREAM_UNAVAILABLE", error: "upstream 503" }) });
    render(<CodexAuth fetch={be.fetch} />);
    fireEvent.click(loginButton());
    await screen.findByText(/ChatGPT could not be reached/);
    expect(screen.queryByText(/Security & Login/)).toBeNull();
  });

  it("signs in when approved: account, Disconnect, the Prompt box and Run", async () => {
    let approved = false;
    const be = backend({ "/status": () => json(200, approved ? { ok: true, account: ACCOUNT } : { ok: false, status: "pending" }) });
    const onAuthenticated = vi.fn();
    render(<CodexAuth fetch={be.fetch} pollIntervalMs={10} onAuthenticated={onAuthenticated} />);
    fireEvent.click(loginButton());
    await screen.findByText("ABCD-EFGH");
    approved = true;
    await screen.findByText(/user@example\.com/);
    expect(screen.getByRole("button", { name: "Disconnect" })).toBeTruthy();
    expect(screen.getByRole("textbox", { name: "Prompt" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Run" })).toBeTruthy();
    expect(onAuthenticated).toHaveBeenCalledExactlyOnceWith(ACCOUNT);
    expect(popup.closed).toBe(true);
  });

  it("streams the answer as plain text: hostile markup shows literally and creates no element", async () => {
    const hostile = "<img src=x onerror=window.__pwned=1> <script>window.__pwned=2</script>";
    const be = backend({
      ...signedIn(),
      "/run/stream": () => stream([{ type: "assistant-text", mode: "append", text: hostile }, { type: "done", result: {} }]),
    });
    const { container } = render(<CodexAuth fetch={be.fetch} />);
    fireEvent.change(await screen.findByRole("textbox", { name: "Prompt" }), { target: { value: "echo" } });
    fireEvent.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(container.querySelector("output")!.textContent).toBe(hostile));
    expect(container.querySelectorAll("img, script")).toHaveLength(0);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("turns Run into Stop while running, and Stop aborts", async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let signal: AbortSignal | undefined;
    const be = backend({
      ...signedIn(),
      "/run/stream": (init) => {
        signal = init.signal!;
        return stream([{ type: "assistant-text", mode: "append", text: "partial" }], hold);
      },
    });
    render(<CodexAuth fetch={be.fetch} />);
    fireEvent.change(await screen.findByRole("textbox", { name: "Prompt" }), { target: { value: "long" } });
    fireEvent.click(screen.getByRole("button", { name: "Run" }));
    await screen.findByText("partial");
    fireEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(signal!.aborted).toBe(true);
    release();
    await screen.findByRole("button", { name: "Run" });
  });

  it("shows a usage limit with the local reset time", async () => {
    const resetsAt = new Date(2030, 0, 2, 15, 45).getTime();
    const be = backend({ ...signedIn(), "/run/stream": () => stream([{ type: "error", code: "USAGE_LIMIT", error: "limit", resetsAt }]) });
    render(<CodexAuth fetch={be.fetch} />);
    fireEvent.change(await screen.findByRole("textbox", { name: "Prompt" }), { target: { value: "hi" } });
    fireEvent.click(screen.getByRole("button", { name: "Run" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Usage limit reached.");
    expect(alert.textContent).toMatch(/\b(3|15):45\b/);
  });

  it("disconnects", async () => {
    const onLogout = vi.fn();
    const be = backend(signedIn());
    render(<CodexAuth fetch={be.fetch} onLogout={onLogout} />);
    fireEvent.click(await screen.findByRole("button", { name: "Disconnect" }));
    await waitFor(() => expect(loginButton()).toBeTruthy());
    expect(be.calls).toContain("/logout");
    expect(onLogout).toHaveBeenCalledOnce();
  });

  it("announces status changes in an aria-live region", async () => {
    const { container } = render(<CodexAuth fetch={backend().fetch} pollIntervalMs={60_000} />);
    const live = container.querySelector('[role="status"][aria-live="polite"]')!;
    expect(live).not.toBeNull();
    fireEvent.click(loginButton());
    await waitFor(() => expect(live.textContent).toContain("ABCD-EFGH"));
  });

  it("works by keyboard: focus follows the view, so Enter alone gets from Login to the code", async () => {
    render(<CodexAuth fetch={backend().fetch} pollIntervalMs={60_000} />);
    const login = loginButton();
    login.focus();
    // A keyboard press on a focused button is a click.
    fireEvent.click(document.activeElement!);
    await screen.findByText("ABCD-EFGH");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("button", { name: "Copy code" })));
  });

  it("does not take focus on first render", async () => {
    render(<CodexAuth fetch={backend().fetch} />);
    await act(async () => {});
    expect(document.activeElement).toBe(document.body);
  });

  it("replaces every visible string through labels", async () => {
    const labels = Object.fromEntries(Object.keys(DEFAULT_LABELS).map((k) => [k, `«${k}»`]));
    const defaults = Object.values(DEFAULT_LABELS);
    const noDefaults = () => {
      const text = document.body.textContent!;
      for (const d of defaults) expect(text).not.toContain(d);
    };
    const be = backend({ ...signedIn(), "/run/stream": () => stream([{ type: "error", code: "USAGE_LIMIT", error: "x", resetsAt: Date.now() }]) });
    render(<CodexAuth fetch={be.fetch} labels={labels} />);
    await screen.findByRole("button", { name: "«disconnect»" });
    expect(screen.getByRole("textbox", { name: "«prompt»" })).toBeTruthy();
    noDefaults();
    fireEvent.change(screen.getByRole("textbox"), { target: { value: "hi" } });
    fireEvent.click(screen.getByRole("button", { name: "«run»" }));
    await screen.findByText(/«USAGE_LIMIT» «resetsAt»/);
    noDefaults();
    fireEvent.click(screen.getByRole("button", { name: "«disconnect»" }));
    fireEvent.click(await screen.findByRole("button", { name: "«login»" }));
    await screen.findByRole("button", { name: "«copy»" });
    expect(screen.getByText(/«expiresIn»/)).toBeTruthy();
    expect(screen.getByText(/«enterCode»/)).toBeTruthy();
    noDefaults();
  });

  it("renders only the function child in headless mode", async () => {
    const { container } = render(
      <CodexAuth fetch={backend().fetch}>{(auth) => <button onClick={() => auth.login()}>go {auth.status}</button>}</CodexAuth>,
    );
    expect(container.innerHTML).toBe("<button>go idle</button>");
    fireEvent.click(screen.getByRole("button"));
    await screen.findByText("go waitingForLogin");
  });

  it("keeps its styles scoped: every rule hangs off .codex-auth, themed by custom properties", () => {
    const rules = CSS.split("}").filter(Boolean);
    for (const r of rules) {
      for (const selector of r.split("{")[0]!.split(",")) expect(selector.trim()).toMatch(/^\.codex-auth(\b|-)/);
    }
    expect(CSS).toContain("var(--codex-auth-accent");
    expect(CSS).toMatch(/:focus-visible\{outline:/);
  });
});

describe("<CodexAuth> under StrictMode", () => {
  it("starts one login and opens one popup per click", async () => {
    const be = backend();
    render(
      <StrictMode>
        <CodexAuth fetch={be.fetch} pollIntervalMs={60_000} />
      </StrictMode>,
    );
    fireEvent.click(loginButton());
    await screen.findByText("ABCD-EFGH");
    expect(be.calls.filter((c) => c == "/login/start")).toHaveLength(1);
    expect(open).toHaveBeenCalledTimes(1);
    expect(popup.location.replace).toHaveBeenCalledOnce();
  });

  it("resumes with a single /status request", async () => {
    const be = backend(signedIn());
    render(
      <StrictMode>
        <CodexAuth fetch={be.fetch} />
      </StrictMode>,
    );
    await screen.findByRole("button", { name: "Disconnect" });
    await new Promise((r) => setTimeout(r, 30));
    expect(be.calls).toEqual(["/status"]);
  });
});
