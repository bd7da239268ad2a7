import { DEFAULT_BASE_PATH, ROUTES, type ErrorCode, type RouteName } from "../contract.js";
import { toError } from "./errors.js";
import { isAllowedLoginUrl } from "./login-url.js";
import { defaultStorage, MARKER_KEY, readMarker, writeMarker } from "./marker.js";
import { closePopup, openLoginPopup } from "./popup.js";
import { AGAIN, FAIL, poll, STOP, type ProbeResult } from "./poller.js";
import { INITIAL_STATE, reduceCodexState, type CodexAction } from "./reducer.js";
import { runStream } from "./run.js";
import type { CodexClient, CodexClientConfig, CodexState } from "./types.js";
import { hasDeviceCode, isLoginAlreadyAuthenticated, isStatusAuthenticated, isStatusPending } from "./wire.js";

const SIGNED_OUT: CodexAction = { status: "loggedOut" };
const IDLE: CodexAction = { status: "idle" };
const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * The framework-free browser client: login, polling, resume, logout and runs.
 * Call `start()` once in the browser (the React hook does) to resume a saved
 * session and follow other tabs.
 * @example
 * const codex = createCodexClient({ basePath: "/api/codex" });
 * codex.start();
 * button.onclick = () => codex.login(); // opens the popup synchronously
 */
export function createCodexClient(config: CodexClientConfig = {}): CodexClient {
  // The clock is Date.now: tests fake it with their timers.
  const now = Date.now;
  const storage = config.storage === undefined ? defaultStorage() : config.storage;
  // "/api/codex/" and "/api/codex" name the same mount point; routes start with "/".
  const basePath = (config.basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, "");
  const marker = readMarker(storage, now(), config.resumeMaxAgeMs ?? SEVEN_DAYS_MS);
  const listeners = new Set<() => void>();
  // A fresh marker starts the client in `resuming`: the first paint shows no login button.
  let state: CodexState = marker
    ? reduceCodexState(INITIAL_STATE, { status: "resuming", account: marker.account ?? null })
    : INITIAL_STATE;
  // Bumped whenever the current flow ends, so answers of an older flow are ignored.
  let generation = 0;
  let popup: Window | null = null;
  let stopPolling = () => {};

  function dispatch(action: CodexAction): void {
    const nextState = reduceCodexState(state, action);
    if (nextState === state) return;
    state = nextState;
    listeners.forEach((listener) => listener());
  }

  // A request with a body is a POST of JSON; without one, a GET.
  function request(route: RouteName, body?: object, signal?: AbortSignal): Promise<Response> {
    return (config.fetch ?? fetch)(config.endpoints?.[route] ?? basePath + ROUTES[route], {
      method: body ? "POST" : "GET",
      credentials: config.credentials ?? "same-origin",
      headers: body ? { "content-type": "application/json" } : undefined,
      body: body ? JSON.stringify(body) : undefined,
      signal,
    });
  }

  // A body that is not JSON (a proxy's HTML page) reads as undefined.
  const readJson = (response: Response): Promise<unknown> => response.json().catch(() => undefined);

  // Ends whatever was in flight (poll, popup, stale answers), then moves the state;
  // the marker follows: written when signed in, removed when out, kept on errors.
  function finish(action: CodexAction): void {
    generation++;
    stopPolling();
    closePopup(popup);
    popup = null;
    dispatch(action);
    if (state.status === "error") return;
    const signedIn = state.status === "authenticated";
    writeMarker(storage, now(), signedIn ? (config.persistAccount ? state.account : null) : undefined);
  }

  function fail(code: ErrorCode, body?: unknown): void {
    finish({ status: "error", error: toError(body, code) });
  }

  // One /status probe. Only a 401 signs out; a 409 (another tab rotated the session) polls
  // again; 429, 5xx and non-JSON answers are transient and back off.
  function statusProbe(probeGeneration: number, waitingForLogin: boolean) {
    return async (): Promise<ProbeResult> => {
      const response = await request("status");
      const body = await readJson(response);
      if (probeGeneration !== generation) return STOP;
      if (isStatusAuthenticated(body)) finish({ status: "authenticated", account: body.account });
      else if (response.status === 401) finish(SIGNED_OUT);
      else if (response.status === 409 || (waitingForLogin && isStatusPending(body))) return AGAIN;
      // No JSON at all is a proxy's page or a cut connection, as transient as a 5xx.
      else if (response.status >= 429 || !body) return FAIL;
      // The login ended without success (expired, denied), or a resumed session is not signed in.
      else if (waitingForLogin) fail("LOGIN_EXPIRED", body);
      else finish(IDLE);
      return STOP;
    };
  }

  function pollStatus(waitingForLogin: boolean, deadline = Infinity): void {
    const intervalMs = config.pollIntervalMs ?? 3000;
    stopPolling();
    // A resumed session is checked at once; a new code cannot be approved that fast.
    const firstDelayMs = waitingForLogin ? intervalMs : 0;
    stopPolling = poll(statusProbe(generation, waitingForLogin), intervalMs, firstDelayMs, deadline, fail);
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async login(usePopup = true) {
      if (state.status === "connecting") return;
      closePopup(popup);
      // Synchronous and first: a popup opened after an await is blocked by browsers.
      const loginPopup = usePopup ? openLoginPopup() : null;
      popup = loginPopup;
      stopPolling();
      const loginGeneration = ++generation;
      dispatch({ status: "connecting" });
      let response: Response;
      let body: unknown;
      // Only the requests are in the try: an exception from the app's own listener is not a network failure.
      try {
        response = await request("session", {});
        if (response.ok) response = await request("loginStart", {});
        body = await readJson(response);
      } catch {
        if (loginGeneration === generation) fail("NETWORK");
        return;
      }
      if (loginGeneration !== generation) return;
      // Already signed in: /status tells the account.
      if (response.ok && isLoginAlreadyAuthenticated(body)) return pollStatus(false);
      // Error bodies carry their code (DEVICE_AUTH_NOT_ENABLED, RATE_LIMITED...); a shapeless one is BAD_RESPONSE.
      if (!response.ok || !hasDeviceCode(body)) return fail("BAD_RESPONSE", body);
      const { loginUrl, userCode, expiresAt } = body;
      const allowed = typeof loginUrl === "string" && isAllowedLoginUrl(loginUrl, config.allowedLoginHosts, config.allowedLoginOrigins);
      if (!allowed) return fail("INVALID_LOGIN_URL");
      // A popup closed by the user counts as blocked: the UI then offers the link.
      let popupBlocked = !loginPopup || loginPopup.closed;
      try {
        loginPopup!.location.replace(loginUrl);
      } catch {
        popupBlocked = true;
      }
      dispatch({ status: "waitingForLogin", userCode, loginUrl, expiresAt, popupBlocked });
      pollStatus(true, expiresAt);
    },
    // The reducer keeps a signed-in session signed in.
    cancelLogin: () => finish(IDLE),
    async logout() {
      generation++;
      stopPolling();
      let response: Response;
      try {
        response = await request("logout", {});
        // 409: another request rotated the session this instant; the browser now holds the new cookie.
        if (response.status === 409) response = await request("logout", {});
      } catch {
        return fail("NETWORK");
      }
      // 401: the session was already gone, which is what logging out wants.
      if (response.ok || response.status === 401) finish(SIGNED_OUT);
      else fail("BAD_RESPONSE", await readJson(response));
    },
    run: (prompt, handlers = {}) =>
      runStream((body, signal) => request("runStream", body, signal), prompt, handlers, () => finish(SIGNED_OUT)),
    start() {
      // Another tab signed out: its marker removal (or a storage clear, whose key is null) reaches this tab.
      const onStorage = (event: StorageEvent) => {
        const markerRemoved = (event.key ?? MARKER_KEY) === MARKER_KEY && !event.newValue;
        if (markerRemoved && state.status === "authenticated") finish(SIGNED_OUT);
      };
      addEventListener("storage", onStorage);
      if (state.status === "resuming") pollStatus(false);
      return () => {
        removeEventListener("storage", onStorage);
        stopPolling();
      };
    },
  };
}
