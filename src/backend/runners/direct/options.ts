/** Options of `directRunner`, their defaults, and the CLI identity the backend expects. */

/** The public Codex CLI OAuth client (used off-label; see SECURITY.md). */
export const CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
export const DEFAULT_ISSUER = "https://auth.openai.com";
export const DEFAULT_BACKEND_BASE_URL = "https://chatgpt.com/backend-api";
/** The CLI version we present; `/codex/models` gates its list on it. */
export const CLI_VERSION = "0.169.0";
/** The backend rejects a turn without instructions; this is the neutral default. */
export const DEFAULT_INSTRUCTIONS =
  "You are a helpful assistant. Answer the user's message clearly and concisely.";

export type ReasoningEffort = "minimal" | "low" | "medium" | "high" | "xhigh";

/** Time limits, in milliseconds. A hung upstream never hangs a request past these. */
export interface DirectRunnerTimeouts {
  /** Until the response headers arrive (connect + request). Default 15 000. */
  connectMs?: number;
  /** From the headers of a streamed answer to its first bytes. Default 30 000. */
  firstByteMs?: number;
  /** Between two chunks of a streamed answer. Default 60 000. */
  idleMs?: number;
  /** Whole non-streamed calls (login, refresh, models). Default 15 000. */
  requestMs?: number;
  /** The best-effort revoke on logout. Default 3 000. */
  revokeMs?: number;
}

/** Options of `directRunner`. Every field is optional. */
export interface DirectRunnerOptions {
  /**
   * One base URL serving both the sign-in and the Codex backend, as the
   * simulator does: sets `issuer` to it and `backendBaseUrl` to it plus
   * `/backend-api`. `issuer` and `backendBaseUrl`, when given, win.
   *
   * @example
   * directRunner({ upstream: "http://127.0.0.1:4010" }) // `npx codex-auth-simulator --port 4010`
   */
  upstream?: string;
  /** Default `https://auth.openai.com`. */
  issuer?: string;
  /** Default `https://chatgpt.com/backend-api`. */
  backendBaseUrl?: string;
  /** Default the public Codex CLI client id. */
  clientId?: string;
  /** Inject for tests or custom transports. Default the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Models the app allows, in order of preference. When set, a run without an
   * explicit model uses the first one the account's plan allows; a model outside
   * this list is refused. When unset, the upstream's first listed model is used.
   */
  models?: string[];
  /** Reasoning effort sent with each turn. Default `"medium"`. */
  effort?: ReasoningEffort;
  /** System instructions for every turn (a run may override them if the run policy allows). */
  instructions?: string;
  timeouts?: DirectRunnerTimeouts;
  /** Refresh the access token when it expires within this margin. Default 300 000 (5 minutes). */
  refreshMarginMs?: number;
  /** How long the account's model list is cached in the session. Default 600 000. */
  modelsTtlMs?: number;
  /** Retries of a 5xx or network failure before any text was streamed. Default 2. */
  retries?: number;
  /** First backoff delay between retries (doubles each time). Default 250. */
  retryBaseDelayMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Makes the per-session `session-id` (and prompt cache key). Default `crypto.randomUUID`. */
  randomId?: () => string;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  issuer: string;
  backendBaseUrl: string;
  clientId: string;
  fetch: typeof fetch;
  models: string[] | undefined;
  effort: ReasoningEffort;
  instructions: string;
  timeouts: Required<DirectRunnerTimeouts>;
  refreshMarginMs: number;
  modelsTtlMs: number;
  retries: number;
  retryBaseDelayMs: number;
  now: () => number;
  randomId: () => string;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function checkUrl(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`directRunner: ${name} must be an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`directRunner: ${name} must be an http(s) URL`);
  }
  return trimSlash(url);
}

export function resolveOptions(options: DirectRunnerOptions = {}): ResolvedOptions {
  const t = options.timeouts ?? {};
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new TypeError("directRunner: no fetch available; pass options.fetch");
  if (options.models !== undefined && options.models.length === 0) {
    throw new TypeError("directRunner: models, when given, must list at least one model");
  }
  const upstream = options.upstream === undefined ? undefined : checkUrl("upstream", options.upstream);
  return {
    issuer: checkUrl("issuer", options.issuer ?? upstream ?? DEFAULT_ISSUER),
    backendBaseUrl: checkUrl("backendBaseUrl", options.backendBaseUrl ?? (upstream === undefined ? DEFAULT_BACKEND_BASE_URL : `${upstream}/backend-api`)),
    clientId: options.clientId ?? CODEX_CLIENT_ID,
    // Bound to globalThis: some runtimes reject an unbound fetch.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    models: options.models ? [...options.models] : undefined,
    effort: options.effort ?? "medium",
    instructions: options.instructions ?? DEFAULT_INSTRUCTIONS,
    timeouts: {
      connectMs: t.connectMs ?? 15_000,
      firstByteMs: t.firstByteMs ?? 30_000,
      idleMs: t.idleMs ?? 60_000,
      requestMs: t.requestMs ?? 15_000,
      revokeMs: t.revokeMs ?? 3_000,
    },
    refreshMarginMs: options.refreshMarginMs ?? 300_000,
    modelsTtlMs: options.modelsTtlMs ?? 600_000,
    retries: options.retries ?? 2,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 250,
    now: options.now ?? Date.now,
    randomId: options.randomId ?? (() => crypto.randomUUID()),
  };
}
