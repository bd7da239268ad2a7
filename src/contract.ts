/**
 * The wire contract between the browser client and the backend handler.
 * Types and constants only: no imports, no runtime dependencies, safe for
 * both bundles. CONTRACT.md is the prose version of this file.
 */

/** Default mount point of the contract routes. */
export const DEFAULT_BASE_PATH = "/api/codex";

/** Routes, relative to the base path. */
export const ROUTES = {
  session: "/session",
  loginStart: "/login/start",
  status: "/status",
  runStream: "/run/stream",
  logout: "/logout",
} as const;
export type RouteName = keyof typeof ROUTES;

/** Content type of the run stream: one JSON event per line. */
export const NDJSON_CONTENT_TYPE = "application/x-ndjson";

/**
 * Stable error codes. Every error that crosses the wire carries one;
 * messages are for people and may change, codes do not. The type, the
 * backend's status table and its wire filter all derive from this one list.
 */
export const SERVER_ERROR_CODES = [
  // request shape
  "BAD_JSON",
  "BAD_REQUEST",
  "BODY_TOO_LARGE",
  "BODY_TIMEOUT",
  "PROMPT_TOO_LONG",
  "UNSUPPORTED_MEDIA_TYPE",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  // browser <-> backend security
  "CSRF_REJECTED",
  "RATE_LIMITED",
  "RUN_IN_PROGRESS",
  "NO_SESSION",
  "SESSION_ROTATED",
  "NOT_AUTHENTICATED",
  // login
  "DEVICE_AUTH_NOT_ENABLED",
  "LOGIN_EXPIRED",
  "LOGIN_DENIED",
  // upstream and runs
  "UPSTREAM_UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
  "UPSTREAM_BLOCKED",
  "USAGE_LIMIT",
  "USAGE_NOT_INCLUDED",
  "MODEL_NOT_AVAILABLE",
  "RUN_FAILED",
  "RUN_ABORTED",
  // the backend's own store (Redis) is down or too slow: try again after Retry-After
  "STORE_UNAVAILABLE",
  "INTERNAL",
] as const;
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

/** Codes only the browser client produces (never sent by the server). */
export const CLIENT_ERROR_CODES = ["POPUP_BLOCKED", "EXPIRED", "NETWORK", "STATUS_FAILED", "INVALID_LOGIN_URL", "BAD_RESPONSE"] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** What an error may say besides its code and message, in a JSON body and in a run's `error` event alike. */
export interface ErrorDetails {
  /** USAGE_LIMIT: when the limit resets, epoch milliseconds. */
  resetsAt?: number;
  /** USAGE_LIMIT, USAGE_NOT_INCLUDED: the account's plan. */
  planType?: string;
  /** MODEL_NOT_AVAILABLE: the models the account may use. */
  models?: string[];
  /** Seconds; mirrors the Retry-After header (429, 503 STORE_UNAVAILABLE). */
  retryAfter?: number;
}

/** Body of every non-2xx JSON answer (session routes add `ok: false`). */
export interface ErrorBody extends ErrorDetails {
  ok?: false;
  code: ServerErrorCode;
  /** Short human message; never a stack trace, never a token. */
  error: string;
}

/** What the browser may know of the signed-in account. Never a token or an account id. */
export interface Account {
  email: string | null;
  name?: string | null;
  planType?: string | null;
}

// ---- POST /session ---------------------------------------------------------
export interface SessionResponse {
  ok: true;
}

// ---- POST /login/start -----------------------------------------------------
export interface LoginAlreadyAuthenticated {
  ok: true;
  loggedIn: true;
  account?: Account;
}
export interface LoginStarted {
  /** Where the user approves the code; validated by the client before navigating. */
  loginUrl: string;
  userCode: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}
/** HTTP 403: the user must enable device-code login in ChatGPT settings once. */
export interface LoginDeviceAuthDisabled extends ErrorBody {
  /** The same code under the seed's older name, for old clients. */
  errorCode: "DEVICE_AUTH_NOT_ENABLED";
  code: "DEVICE_AUTH_NOT_ENABLED";
  error: string;
}
export type LoginStartResponse =
  | LoginAlreadyAuthenticated
  | LoginStarted
  | LoginDeviceAuthDisabled
  | ErrorBody;

// ---- GET /status -----------------------------------------------------------
export interface StatusAuthenticated {
  ok: true;
  account: Account;
}
export interface StatusPending {
  ok: false;
  status: "pending";
}
/** HTTP 401: no session, an unknown session, or a session that is not signed in. Definitive. */
export interface StatusLoggedOut {
  ok: false;
  status: "logged_out";
  code?: "NO_SESSION" | "NOT_AUTHENTICATED";
}
/**
 * HTTP 409: the cookie's session was just rotated by another request. Not definitive: poll again.
 * Every route answers this body to a just-rotated id.
 */
export interface StatusRotated extends ErrorBody {
  ok: false;
  status: "rotated";
  code: "SESSION_ROTATED";
  error: string;
}
/** HTTP 200: the device login ended without success (code expired or denied upstream). */
export interface StatusLoginFailed {
  ok: false;
  status: "expired" | "denied";
  code: "LOGIN_EXPIRED" | "LOGIN_DENIED";
  error: string;
}
export type StatusResponse =
  | StatusAuthenticated
  | StatusPending
  | StatusLoggedOut
  | StatusRotated
  | StatusLoginFailed
  | ErrorBody;

// ---- POST /run/stream ------------------------------------------------------
export interface HistoryMessage {
  role: "user" | "assistant";
  text: string;
}
/** Request body. Fields beyond `prompt` are accepted only as far as the server's run policy allows. */
export interface RunRequest {
  prompt: string;
  model?: string;
  instructions?: string;
  history?: HistoryMessage[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
}

export interface AssistantTextEvent {
  type: "assistant-text";
  /** `append`: add to the text so far; `replace`: the text so far is this. */
  mode: "append" | "replace";
  text: string;
}
export interface DoneEvent {
  type: "done";
  result: {
    /**
     * The full answer. Omitted when the answer was already streamed as
     * `assistant-text` events (the client rebuilds it), so that a long answer
     * does not cross the wire twice.
     */
    text?: string;
    usage?: Usage;
    model?: string;
  };
}
/** Ends the stream; carries the same code, message and details as a JSON error. */
export interface ErrorEvent extends ErrorDetails {
  type: "error";
  code: ServerErrorCode;
  error: string;
}
export type RunEvent = AssistantTextEvent | DoneEvent | ErrorEvent;

// ---- POST /logout ----------------------------------------------------------
export type LogoutResponse = Record<string, never>;

// ---- every route -----------------------------------------------------------
/**
 * What each route answers: its success bodies and `ErrorBody` (the run stream:
 * one `RunEvent` per line, or an `ErrorBody` before the stream starts).
 */
export interface RouteResponses {
  session: SessionResponse | ErrorBody;
  loginStart: LoginStartResponse;
  status: StatusResponse;
  runStream: RunEvent | ErrorBody;
  logout: LogoutResponse | ErrorBody;
}
