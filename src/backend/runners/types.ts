import type { Account, HistoryMessage, RunEvent } from "../../contract.js";
import type { Coordination } from "../sessions/coordination.js";

/**
 * What a runner may keep per session. JSON-serialisable; the handler seals it
 * (AES-256-GCM) before it reaches any store, so tokens kept here are safe at rest.
 */
export type SessionData = Record<string, unknown>;

/** The session a runner call acts for. */
export interface RunnerContext {
  /** Opaque, stable for the life of the session (does not change when the cookie id rotates). */
  readonly id: string;
  /** Mutable: the handler persists whatever the runner leaves here when the call returns. */
  data: SessionData;
  /**
   * Persist `data` now, before the call returns (e.g. right after a token
   * refresh in the middle of a long run). A write that lost to a newer one
   * (another request or instance) is merged over it; `data` then holds the
   * merged data. Optional for callers to provide.
   */
  save?: () => Promise<void>;
  /**
   * Read the session again (this call's unsaved changes merged on top), to
   * see what another request or instance wrote meanwhile, e.g. tokens it
   * refreshed. False when the session is gone. Optional for callers to provide.
   */
  reload?: () => Promise<boolean>;
  /**
   * Named holds shared by every instance on the session store (a refresh
   * lock, an upstream poll slot). Absent: coordinate within this process only.
   */
  coordination?: Coordination;
}

export type DeviceLoginResult =
  | { status: "started"; loginUrl: string; userCode: string; expiresAt: number }
  | { status: "authenticated"; account: Account };

export type RunnerStatus =
  | { status: "authenticated"; account: Account }
  | { status: "pending" }
  | { status: "logged_out" }
  | { status: "expired" }
  | { status: "denied" };

/** Run options beyond the prompt, passed only as far as the server's run policy allows. */
export interface RunOptions {
  model?: string;
  instructions?: string;
  history?: HistoryMessage[];
}

/**
 * A runner signs a session in with the device-code flow and runs prompts on
 * its account. Implementations: `directRunner` (fetch) and the CLI runner.
 * Failures are thrown as `CodexError` (or, inside `run`, yielded as `error`
 * events); any other thrown value is reported as INTERNAL without its message.
 */
export interface CodexRunner {
  startDeviceLogin(ctx: RunnerContext): Promise<DeviceLoginResult>;
  getStatus(ctx: RunnerContext): Promise<RunnerStatus>;
  /** Streams events; stops promptly when `signal` aborts (the client went away). */
  run(ctx: RunnerContext, prompt: string, signal: AbortSignal, options?: RunOptions): AsyncIterable<RunEvent>;
  /** Ends the upstream login (best effort) and forgets its tokens. */
  logout(ctx: RunnerContext): Promise<void>;
  /**
   * Optional: sends one Responses API request (as the AI SDK's OpenAI provider
   * builds it) on the session's account, and resolves with the upstream's
   * event stream once its headers arrive; throws CodexError. Used by
   * `codex-auth/ai`; only a runner that holds the tokens itself has it
   * (directRunner, not the CLI runner).
   */
  responses?(ctx: RunnerContext, body: Record<string, unknown>, signal: AbortSignal): Promise<Response>;
}
