import type { Account, RunEvent } from "../../src/contract.js";
import { CodexError } from "../../src/backend/core/errors.js";
import type { CodexRunner, DeviceLoginResult, RunnerContext, RunnerStatus, RunOptions } from "../../src/backend/runners/types.js";

/**
 * Known token strings the test runner keeps in ctx.data, shaped like the real
 * ones (JWT access/id tokens, an opaque refresh token). Guard tests search
 * every output for them and for their distinctive parts.
 */
export const TOKENS = {
  access: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLWNvbmZpbmVkIiwiZXhwIjo5OTk5OTk5OTk5fQ.QUNDRVNTLVNJR05BVFVSRS1jb25maW5lbWVudC10ZXN0",
  refresh: "rt_REFRESHs3cr3tZ9qW8eR7tY6uI5oP4aS3dF2gH1jK0",
  id: "eyJhbGciOiJSUzI1NiJ9.eyJlbWFpbCI6ImFubkBleGFtcGxlLmNvbSJ9.SUQtVE9LRU4tU0lHTkFUVVJFLWNvbmZpbmVtZW50LXRlc3Q",
  expiresAt: 4_102_444_800_123,
} as const;

/** Every string that must never leave the backend: the tokens and their telling parts. */
export const SECRET_STRINGS: readonly string[] = [
  TOKENS.access,
  TOKENS.refresh,
  TOKENS.id,
  String(TOKENS.expiresAt),
  ...TOKENS.access.split(".").slice(1),
  ...TOKENS.id.split(".").slice(1),
  TOKENS.refresh.slice(3),
];

export type RunScript = (ctx: RunnerContext, prompt: string, signal: AbortSignal, options?: RunOptions) => AsyncIterable<RunEvent>;

export interface TestRunnerOptions {
  account?: Account;
  /** How long the code exchange takes upstream (ms); the race tests widen the window with it. */
  exchangeDelayMs?: number;
  /** Replaces the default echo run. */
  run?: RunScript;
  /** Makes startDeviceLogin throw this. */
  startError?: unknown;
  /** Makes getStatus throw this. */
  statusError?: unknown;
  /** Makes logout throw this. */
  logoutError?: unknown;
}

/** A scripted CodexRunner that behaves like a real one where the handler can tell, with counters for assertions. */
export interface TestRunner extends CodexRunner {
  /** Code exchanges "upstream" (one per approved login, if coalescing works). */
  readonly exchanges: number;
  readonly logouts: number;
  /** The signal of each run, in order. */
  readonly runSignals: AbortSignal[];
  /** ctx.id of every call, in order. */
  readonly contextIds: string[];
  /** Approves every pending device code (the user clicked "Allow"). */
  approve(): void;
  /** Makes pending codes answer "denied" or "expired". */
  fail(status: "denied" | "expired"): void;
  options: TestRunnerOptions;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
  expires_at: number;
}

/**
 * Creates the test runner. Like a real runner, it coalesces concurrent status
 * checks of one session (keyed on ctx.id) into a single code exchange and
 * remembers the result for later callers holding the pre-exchange data.
 */
export function createTestRunner(options: TestRunnerOptions = {}): TestRunner {
  const account: Account = options.account ?? { email: "ann@example.com", planType: "plus" };
  const exchangesInFlight = new Map<string, Promise<Tokens>>();
  const exchanged = new Map<string, Tokens>();
  let approved = false;
  let failure: "denied" | "expired" | null = null;
  let codes = 0;

  const runner: TestRunner = {
    exchanges: 0,
    logouts: 0,
    runSignals: [],
    contextIds: [],
    options,
    approve() {
      approved = true;
    },
    fail(status) {
      failure = status;
    },
    async startDeviceLogin(ctx): Promise<DeviceLoginResult> {
      runner.contextIds.push(ctx.id);
      if (options.startError !== undefined) throw options.startError;
      if (ctx.data.tokens !== undefined) return { status: "authenticated", account };
      codes += 1;
      ctx.data.device = { deviceAuthId: `dev_${codes}`, userCode: `ABCD-${1000 + codes}` };
      return { status: "started", loginUrl: "https://auth.openai.com/codex/device", userCode: `ABCD-${1000 + codes}`, expiresAt: Date.now() + 900_000 };
    },
    async getStatus(ctx): Promise<RunnerStatus> {
      runner.contextIds.push(ctx.id);
      if (options.statusError !== undefined) throw options.statusError;
      if (ctx.data.tokens !== undefined) return { status: "authenticated", account };
      if (ctx.data.device === undefined) return { status: "logged_out" };
      if (failure !== null) return { status: failure };
      if (!approved) return { status: "pending" };
      const tokens = exchanged.get(ctx.id) ?? (await exchangeOnce(ctx.id));
      ctx.data.tokens = tokens;
      delete ctx.data.device;
      return { status: "authenticated", account };
    },
    run(ctx, prompt, signal, runOptions) {
      runner.contextIds.push(ctx.id);
      runner.runSignals.push(signal);
      if (ctx.data.tokens === undefined) throw new CodexError("NOT_AUTHENTICATED", "Sign in first.");
      return (options.run ?? echo)(ctx, prompt, signal, runOptions);
    },
    async logout(ctx) {
      runner.contextIds.push(ctx.id);
      (runner as { logouts: number }).logouts += 1;
      if (options.logoutError !== undefined) throw options.logoutError;
      delete ctx.data.tokens;
    },
  };

  function exchangeOnce(id: string): Promise<Tokens> {
    let pending = exchangesInFlight.get(id);
    if (pending === undefined) {
      pending = (async () => {
        (runner as { exchanges: number }).exchanges += 1;
        await sleep(options.exchangeDelayMs ?? 0);
        const tokens: Tokens = { access_token: TOKENS.access, refresh_token: TOKENS.refresh, id_token: TOKENS.id, expires_at: TOKENS.expiresAt };
        exchanged.set(id, tokens);
        exchangesInFlight.delete(id);
        return tokens;
      })();
      exchangesInFlight.set(id, pending);
    }
    return pending;
  }

  return runner;
}

/** The default run: echoes the prompt word by word, then done with usage. */
async function* echo(_ctx: RunnerContext, prompt: string): AsyncIterable<RunEvent> {
  const words = `Echo: ${prompt}`.split(" ");
  for (const [i, word] of words.entries()) yield { type: "assistant-text", mode: "append", text: i === 0 ? word : ` ${word}` };
  yield { type: "done", result: { text: words.join(" "), usage: { inputTokens: 3, outputTokens: words.length } } };
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
