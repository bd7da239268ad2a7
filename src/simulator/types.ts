/**
 * Public types of the upstream simulator. Independent of the rest of the
 * package on purpose (NEVER rule 3): nothing here is shared with the runners.
 */

/** The ChatGPT account a device code is approved as. Every field has a default. */
export interface TestAccount {
  /** Default `"user@example.com"`. */
  email?: string;
  /** The `chatgpt_account_id` claim and the expected `chatgpt-account-id` header. Default a fixed UUID. */
  accountId?: string;
  /** `"free" | "plus" | "pro" | ...`. Default `"plus"`. */
  planType?: string;
  /** Display name placed in the id token's `name` claim. Default `"Test User"`. */
  name?: string;
}

/**
 * Endpoints the simulator counts and can target with a fault. The backend ones (under
 * `/backend-api`) all want the bearer access token and a matching `chatgpt-account-id`:
 * - `models`: `GET /codex/models?client_version=X`, the model catalogue.
 * - `accountsCheck`: `GET /wham/accounts/check`, the account's workspace routing.
 * - `usage`: `GET /wham/usage`, the account's rate-limit meter, as `codex app-server` reads it for
 *   `account/rateLimits/read`: `{ plan_type, rate_limit: { allowed, limit_reached, primary_window,
 *   secondary_window }, credits: null }`, each window `{ used_percent, limit_window_seconds,
 *   reset_after_seconds, reset_at }` (Unix seconds). Normally 12 % of a 5-hour window and 42 % of a
 *   weekly one, both fixed windows counted from the epoch on the simulator's `now`; after the
 *   `usage-limit` fault fired for the account, full until the reset it named (see that fault).
 * - `resetCredits`: `GET /wham/rate-limit-reset-credits`, credits that lift a limit early: none
 *   (`{ available_count: 0, credits: [] }`).
 * - `responses`: `POST /codex/responses`, one turn streamed as server-sent events.
 *
 * `GET /wham/settings/user`, which `codex app-server` reads at each turn, is not served (a 404 in
 * `unknown`): the shape it decodes is not known, and it carries on without it.
 */
export type SimulatorEndpoint =
  | "usercode"
  | "deviceToken"
  | "codeExchange"
  | "refresh"
  | "revoke"
  | "models"
  | "accountsCheck"
  | "usage"
  | "resetCredits"
  | "responses";

/** One request as the simulator saw it, for debugging a client (see `onRequest`). */
export interface SimulatorRequestInfo {
  method: string;
  /** Path and query string. */
  url: string;
  /** The endpoint it was routed to, or `"unknown"` for a 404. */
  endpoint: SimulatorEndpoint | "device" | "websocket" | "unknown";
  headers: Record<string, string | string[] | undefined>;
  /** The decoded body (zstd already undone), as text; empty for GET. */
  body: string;
}

/** Context given to an `answer` function. */
export interface AnswerContext {
  /** The `model` field of the request. */
  model: string;
  /** The account the access token belongs to. */
  account: Required<TestAccount>;
}

/** Options of `startSimulator`. All optional. */
export interface SimulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `"127.0.0.1"`. */
  host?: string;
  /** Polling interval the usercode endpoint announces, in seconds (sent as a string). Default 5. */
  interval?: number;
  /** Lifetime of a device code. Default 900 (15 minutes, as upstream). */
  codeTtlSeconds?: number;
  /** Lifetime (`exp` - `iat`, and `expires_in`) of access and id tokens. Default 3600. */
  accessTokenTtlSeconds?: number;
  /**
   * Approve device codes without a person: a number N approves a code after N pending
   * polls (0: the first poll succeeds) as the default account; an object sets the account
   * and optionally `afterPolls` (default 0).
   */
  autoApprove?: number | (TestAccount & { afterPolls?: number });
  /**
   * The assistant's answer to the last user message's text. May be async. Default: a
   * deterministic echo, `You said: <prompt>`, streamed in several deltas.
   *
   * Beyond text, the Responses endpoint answers as the AI SDK expects, deterministically:
   * a request offering function tools whose last user message names one gets a call to
   * it (string parameters filled with the message, numbers 1, booleans true); function-call
   * outputs after the last user message get `The <tool> tool returned: <output>`; a
   * request with `reasoning` gets a reasoning item first (its summary `Thinking about: …`,
   * and, when `include` asks for `reasoning.encrypted_content`, an encrypted form only this
   * simulator verifies when it is passed back). `store` must be false, and item references
   * are refused, as the Codex backend keeps nothing between turns.
   */
  answer?: (input: string, context: AnswerContext) => string | Promise<string>;
  /** Milliseconds since the epoch; inject to control expiry. Default `Date.now`. */
  now?: () => number;
  /** The account a person approving on the `/codex/device` page signs in as. Default: the default account. */
  pageAccount?: TestAccount;
  /**
   * Called for every request after its body is read, to see what a client sends.
   * Headers and bodies carry tokens: for local debugging only, never log them in CI output.
   */
  onRequest?: (info: SimulatorRequestInfo) => void;
  /** Model slugs `/codex/models` lists. Default `["gpt-6.1-sol", "gpt-6-luna", "gpt-5.5"]` (known to codex 0.169). */
  models?: string[];
}

/** Options every fault accepts. */
export interface FaultBase {
  /** Fire this many times, then disappear. Default: until `clearFaults()`. */
  times?: number;
}

/** Faults and their options; `sim.fault(name, options)`. */
export interface FaultOptions {
  /** 404 on `/deviceauth/usercode` (device-code login not enabled). */
  "device-auth-disabled": FaultBase;
  /** Device-token polls answer as for an expired code. */
  "code-expired": FaultBase;
  /** Device-token polls answer as if the user pressed "Deny". */
  deny: FaultBase;
  /** A device-token poll sooner than `interval` after the previous one gets 429 `slow_down`. */
  "slow-down": FaultBase;
  /** A 5xx (default 500) on `endpoint` (default: every endpoint). */
  "server-error": FaultBase & { endpoint?: SimulatorEndpoint; status?: number };
  /** Accept the request on `endpoint` (default: every endpoint) and never answer. */
  hang: FaultBase & { endpoint?: SimulatorEndpoint };
  /**
   * 429 `usage_limit_reached` on responses, with `x-codex-*` headers. From then on the account's
   * `/wham/usage` reads limit reached, primary window 100 % resetting at `resetsAt` (Unix seconds;
   * default an hour after it fired), with `planType` (default the account's plan), until `resetsAt`
   * passes; `clearFaults()` does not lift it. A plan codex does not know reads as `"unknown"` there.
   */
  "usage-limit": FaultBase & { resetsAt?: number; planType?: string };
  /** 429 `usage_not_included` on responses (the plan has no Codex). */
  "usage-not-included": FaultBase & { planType?: string };
  /** 400 `{detail}` on responses, naming `model` (default: the requested model). */
  "model-not-supported": FaultBase & { model?: string };
  /** 403 HTML "Just a moment…" with `cf-mitigated: challenge` on `endpoint` (default: every endpoint). */
  "cloudflare-challenge": FaultBase & { endpoint?: SimulatorEndpoint };
  /** The responses stream ends after the first deltas, without `response.completed`. */
  "cut-stream": FaultBase;
  /** Garbage lines between the SSE events of responses. */
  "malformed-sse": FaultBase;
  /** Wait `delayMs` (default 200) between streamed deltas. */
  "slow-stream": FaultBase & { delayMs?: number };
  /** Every token issued so far becomes invalid at once (as after a password change). */
  "revoke-all": FaultBase;
  /**
   * A successful JSON answer of `endpoint` (`usercode`, `codeExchange` or `refresh`; default: each of them)
   * has `fields` written over it, for a broken or hostile upstream: a huge `user_code`, an `id_token`
   * that is no JWT, a negative `expires_in`. The simulator's own state is unchanged.
   */
  "tampered-answer": FaultBase & { endpoint?: SimulatorEndpoint; fields: Record<string, unknown> };
}

/** The name of a fault. */
export type FaultName = keyof FaultOptions;

/** Request counts per endpoint. */
export type SimulatorStats = Record<SimulatorEndpoint, number> & {
  /** Refresh-token reuses detected (each answered 401 `refresh_token_reused`). */
  refreshReuse: number;
  /** WebSocket upgrade attempts on `/codex/responses` (each answered 426). */
  websocket: number;
  /** `"METHOD /path"` of every request answered 404 (unknown endpoints). */
  unknown: string[];
};

/**
 * A running simulator.
 * @example
 * const sim = await startSimulator({ interval: 1 });
 * // ...a client starts a device login...
 * sim.approve(sim.pendingCodes()[0]!, { email: "ada@example.com", planType: "pro" });
 * expect(sim.stats().refreshReuse).toBe(0);
 * await sim.close();
 */
export interface Simulator {
  /** The issuer base URL, `http://127.0.0.1:PORT`; the backend is at `${url}/backend-api`. */
  readonly url: string;
  /** Approve a pending device code as `account` (defaults filled in). Returns false for an unknown or expired code. */
  approve(userCode: string, account?: TestAccount): boolean;
  /** Deny a pending device code. Returns false for an unknown or expired code. */
  deny(userCode: string): boolean;
  /** User codes issued and still awaiting a decision, oldest first. */
  pendingCodes(): string[];
  /**
   * Inject a fault (see `FaultOptions`); it fires `times` times or until `clearFaults()`.
   * @example
   * sim.fault("server-error", { endpoint: "usercode", status: 503, times: 1 });
   * sim.fault("usage-limit", { resetsAt: Math.floor(Date.now() / 1000) + 3600 });
   */
  fault<N extends FaultName>(name: N, options?: FaultOptions[N]): void;
  /** Remove every active fault (tokens revoked by `revoke-all` stay revoked). */
  clearFaults(): void;
  /** A snapshot of the request counts. */
  stats(): SimulatorStats;
  /** Every access, refresh and id token issued so far, in order. */
  issuedTokens(): string[];
  /** Stop listening and drop every open connection (hung ones too). */
  close(): Promise<void>;
}
