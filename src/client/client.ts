import { DEFAULT_BASE_PATH, ROUTES, type ErrorCode, type RouteName } from "../contract.js";
import { toError } from "./errors.js";
import { isAllowedLoginUrl } from "./login-url.js";
import { defaultStorage, MARKER_KEY, readMarker, writeMarker } from "./marker.js";
import { closePopup, openLoginPopup } from "./popup.js";
import { AGAIN, FAIL, poll, STOP, type ProbeResult } from "./poller.js";
import { INITIAL_STATE, reduceCodexState, type CodexAction } from "./reducer.js";
import { runStream } from "./run.js";
import type { CodexClient, CodexClientConfig, CodexState } from "./types.js";

// Server bodies arrive as unknown and are checked where used; the wire types live in contract.ts.
type Body = Record<string, any> | null;

const OUT: CodexAction = { status: "loggedOut" };
const IDLE: CodexAction = { status: "idle" };

/**
 * The framework-free browser client: login, polling, resume, logout and runs.
 * Call `start()` once in the browser (the React hook does) to resume a saved
 * session and follow other tabs.
 * @example
 * const codex = createCodexClient({ basePath: "/api/codex" });
 * codex.start();
 * button.onclick = () => codex.login(); // opens the popup synchronously
 */
export function createCodexClient(c: CodexClientConfig = {}): CodexClient {
  // The clock is Date.now: tests fake it with the timers, and the bundle stays small.
  const now = Date.now;
  const st = c.storage === undefined ? defaultStorage() : c.storage;
  const m = readMarker(st, now(), c.resumeMaxAgeMs ?? 6048e5);
  const listeners = new Set<() => void>();
  // A fresh marker starts the client in `resuming`: the first paint shows no login button.
  let state: CodexState = m ? reduceCodexState(INITIAL_STATE, { status: "resuming", account: m.account ?? null }) : INITIAL_STATE;
  let gen = 0, popup: Window | null = null, stopPoll = () => {};

  const dispatch = (a: CodexAction) => {
    const n = reduceCodexState(state, a);
    if (n != state) (state = n), listeners.forEach((f) => f());
  };
  const call = (n: RouteName, body?: object, signal?: AbortSignal) =>
    (c.fetch ?? fetch)(c.endpoints?.[n] ?? (c.basePath ?? DEFAULT_BASE_PATH) + ROUTES[n], {
      method: body && "POST", // GET otherwise
      credentials: c.credentials ?? "same-origin",
      headers: body && { "content-type": "application/json" },
      body: body && JSON.stringify(body),
      signal,
    });
  const json = (r: Response): Promise<Body> => r.json().catch(() => null);

  // Ends whatever was in flight (poll, popup, stale answers), then moves the state;
  // the marker follows: written when signed in, removed when out, kept on errors.
  const end = (a: CodexAction) => {
    gen++;
    stopPoll();
    closePopup(popup);
    popup = null;
    dispatch(a);
    const s = state.status;
    if (s != "error") writeMarker(st, now(), s == "authenticated" ? (c.persistAccount ? state.account : null) : undefined);
  };
  const fail = (code: ErrorCode, b?: Body) => end({ status: "error", error: toError(b, code) });

  // One /status probe. Only a 401 signs out; a 409 (another tab rotated the session) polls
  // again; 429, 5xx and non-JSON answers are transient and back off.
  const probe = (g: number, login: boolean) => async (): Promise<ProbeResult> => {
    const r = await call("status");
    const b = await json(r);
    const s = r.status;
    if (g != gen) return STOP;
    if (b?.account) end({ status: "authenticated", account: b.account });
    else if (s == 401) end(OUT);
    else if (s == 409 || (login && b?.status == "pending")) return AGAIN;
    else if (s > 428 || !b) return FAIL;
    // The login ended without success (expired, denied), or a resumed session is not signed in.
    else login ? fail("LOGIN_EXPIRED", b) : end(IDLE);
    return STOP;
  };
  const pollStatus = (login: boolean, deadline = Infinity) => {
    const ms = c.pollIntervalMs ?? 3000;
    stopPoll();
    stopPoll = poll(probe(gen, login), ms, login ? ms : 0, deadline, fail);
  };

  return {
    getState: () => state,
    subscribe: (f) => (listeners.add(f), () => listeners.delete(f)),
    async login(usePopup = true) {
      if (state.status == "connecting") return;
      closePopup(popup);
      // Synchronous and first: a popup opened after an await is blocked by browsers.
      const w = (popup = usePopup ? openLoginPopup() : null);
      stopPoll();
      const g = ++gen;
      dispatch({ status: "connecting" });
      try {
        let r = await call("session", {});
        if (r.ok) r = await call("loginStart", {});
        const b = await json(r);
        if (g != gen) return;
        // Already signed in: /status tells the account.
        if (b?.loggedIn) return pollStatus(false);
        const { loginUrl: u, userCode, expiresAt } = b ?? {};
        // Error bodies carry their code (DEVICE_AUTH_NOT_ENABLED, RATE_LIMITED...); a shapeless one is BAD_RESPONSE.
        if (!r.ok || typeof userCode != "string" || !(expiresAt > 0)) return fail("BAD_RESPONSE", b);
        // A missing or non-string loginUrl fails to parse, so it is refused here too.
        if (!isAllowedLoginUrl(u, c.allowedLoginHosts, c.allowedLoginOrigins)) return fail("INVALID_LOGIN_URL");
        // A popup closed by the user counts as blocked: the UI then offers the link.
        let popupBlocked = !w || w.closed;
        try {
          w!.location.replace(u);
        } catch {
          popupBlocked = true;
        }
        dispatch({ status: "waitingForLogin", userCode, loginUrl: u, expiresAt, popupBlocked });
        pollStatus(true, expiresAt);
      } catch {
        g == gen && fail("NETWORK");
      }
    },
    // The reducer keeps a signed-in session signed in.
    cancelLogin: () => end(IDLE),
    async logout() {
      gen++;
      stopPoll();
      try {
        let r = await call("logout", {});
        // 409: another request rotated the session this instant; the browser now holds the new cookie.
        if (r.status == 409) r = await call("logout", {});
        // 401: the session was already gone, which is what logging out wants.
        r.ok || r.status == 401 ? end(OUT) : fail("BAD_RESPONSE", await json(r));
      } catch {
        fail("NETWORK");
      }
    },
    run: (prompt, h = {}) => runStream((body, signal) => call("runStream", body, signal), prompt, h, () => end(OUT)),
    start() {
      // Another tab signed out: its marker removal (or a storage clear) reaches this tab.
      const onStorage = (e: StorageEvent) =>
        (e.key ?? MARKER_KEY) == MARKER_KEY && !e.newValue && state.status == "authenticated" && end(OUT);
      addEventListener("storage", onStorage);
      if (state.status == "resuming") pollStatus(false);
      return () => {
        removeEventListener("storage", onStorage);
        stopPoll();
      };
    },
  };
}
