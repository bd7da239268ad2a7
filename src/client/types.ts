import type { Account, ErrorCode, RouteName, RunRequest, Usage } from "../contract.js";

/**
 * Where the sign-in is at.
 * @example if (codex.getState().status === "waitingForLogin") showCode();
 */
export type CodexStatus =
  | "idle"
  | "resuming"
  | "connecting"
  | "waitingForLogin"
  | "authenticated"
  | "error"
  | "loggedOut";

/**
 * A failure with a stable code; `message` is for people and may change.
 * @example if (error.code === "USAGE_LIMIT") showReset(error.resetsAt);
 */
export interface CodexClientError {
  code: ErrorCode;
  message: string;
  /** USAGE_LIMIT: when the limit resets, epoch milliseconds. */
  resetsAt?: number;
  /** RATE_LIMITED / RUN_IN_PROGRESS: seconds to wait. */
  retryAfter?: number;
}

/**
 * The observable state of a client. Never holds a token.
 * @example const { status, userCode, error } = codex.getState();
 */
export interface CodexState {
  status: CodexStatus;
  account: Account | null;
  /** The device code the user types on the login page. */
  userCode: string | null;
  /** The validated login page URL (https on an allowed host). */
  loginUrl: string | null;
  /** Epoch ms when the device code expires. */
  expiresAt: number | null;
  /** The login popup could not be opened or was closed early: show a link to `loginUrl`. */
  popupBlocked: boolean;
  error: CodexClientError | null;
}

/**
 * Minimal Web Storage surface the marker needs.
 * @example createCodexClient({ storage: sessionStorage })
 */
export type MarkerStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/**
 * Options of {@link createCodexClient}; every field is optional.
 * @example createCodexClient({ basePath: "/auth/codex", pollIntervalMs: 2000 })
 */
export interface CodexClientConfig {
  /** Mount point of the contract routes; a trailing slash is ignored. Default `/api/codex`. */
  basePath?: string;
  /** Per-route URL overrides, e.g. absolute URLs of a cross-origin backend. */
  endpoints?: Partial<Record<RouteName, string>>;
  /** fetch credentials mode. Default `'same-origin'`; use `'include'` only for a listed cross-origin backend. */
  credentials?: RequestCredentials;
  /** Delay between `/status` probes while waiting for approval. Default 3000. */
  pollIntervalMs?: number;
  /** Hosts the login URL may point to, https only. Default `["auth.openai.com"]`. */
  allowedLoginHosts?: string[];
  /** Exact loopback origins allowed for local development, e.g. `["http://127.0.0.1:8787"]`. */
  allowedLoginOrigins?: string[];
  /** Where the signed-in marker lives. Default `localStorage`; `null` disables it. */
  storage?: MarkerStorage | null;
  /** Also keep the account (email) in the marker. Default false: no PII readable by an XSS. */
  persistAccount?: boolean;
  /** A marker older than this is not resumed. Default 7 days. */
  resumeMaxAgeMs?: number;
  /** The fetch to use. Default the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * Callbacks of one run. `full` is the answer so far. An exception thrown by
 * one of them stops the run and rejects `done` with that exception; it is never
 * reported through `onError`.
 * @example codex.run("Hello", { onText: (_text, _mode, full) => (output.textContent = full) })
 */
export interface RunHandlers {
  onText?: (text: string, mode: "append" | "replace", full: string) => void;
  onDone?: (result: { text: string; usage?: Usage }) => void;
  onError?: (error: CodexClientError) => void;
}

/**
 * A run in flight. `done` resolves when the run ends (answer, error or abort);
 * it rejects only with an exception thrown by one of the app's own handlers.
 * @example const handle = codex.run("Hello"); stopButton.onclick = handle.abort;
 */
export interface RunHandle {
  abort: () => void;
  done: Promise<void>;
}

/**
 * The browser client made by {@link createCodexClient}: state, subscription and actions.
 * @example const unsubscribe = codex.subscribe(() => render(codex.getState()));
 */
export interface CodexClient {
  /** The current state; a new object after every change. */
  getState: () => CodexState;
  /**
   * Calls `listener` after every state change; returns the unsubscribe function.
   * A listener that throws makes the action that changed the state (such as
   * `login()`) reject with that exception, never with an error state.
   */
  subscribe: (listener: () => void) => () => void;
  /**
   * Starts a device login. Call it straight from a click handler: it opens the
   * popup synchronously, before any await, so the browser does not block it.
   * Pass `false` to skip the popup (the UI shows the code and a link).
   * Failures land in the state (`status: "error"`); the promise does not reject for them.
   */
  login: (popup?: boolean) => Promise<void>;
  /** Stops waiting for approval and closes the popup. */
  cancelLogin: () => void;
  /** Ends the session server-side and clears the marker (other tabs follow). Failures land in the state. */
  logout: () => Promise<void>;
  /** Streams an answer; needs an authenticated session. See {@link RunHandlers} for exceptions in handlers. */
  run: (prompt: string | RunRequest, handlers?: RunHandlers) => RunHandle;
  /** Attaches browser listeners and resumes; returns the detach function. Not for SSR. */
  start: () => () => void;
}
