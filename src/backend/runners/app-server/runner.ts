/** `appServerRunner`: the CodexRunner on the official `codex app-server`, one process and one CODEX_HOME folder per session. */
import type { Account, RunEvent } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { toErrorEvent } from "../error-event.js";
import { MODEL_PATTERN } from "../codex-command.js";
import { removeHome } from "../cli/home.js";
import { MAX_INSTRUCTIONS } from "../cli/options.js";
import { HomeSweeper, touchHome } from "../cli/sweep.js";
import { withHistory } from "../transcript.js";
import type { CodexRunner, RunnerContext, RunOptions } from "../types.js";
import { AppServerLogins, readAccount } from "./login.js";
import { resolveAppServerOptions, type AppServerRunnerOptions } from "./options.js";
import { AppServerPool, type Lease } from "./pool.js";
import { readState, writeState } from "./state.js";
import { runTurn } from "./turn.js";
import type { ThreadState } from "./server-process.js";

/** A CodexRunner that can also stop every process it started (for shutdown and tests). */
export interface AppServerRunner extends CodexRunner {
  /** Stop every app-server process of this runner and the sweep timer. Session folders stay (sessions may outlive the process). */
  close(): Promise<void>;
  /** Remove abandoned session folders now (as the CLI runner's `sweep`); resolves with the number removed. */
  sweep(): Promise<number>;
  /** App-server processes running or starting now. */
  processCount(): number;
}

/**
 * The runner on `codex app-server` (npm `@openai/codex`), the interface OpenAI
 * documents for embedding Codex: JSON-RPC over stdio. Device login with
 * `account/login/start` (`chatgptDeviceCode`), token refresh by Codex itself,
 * a thread per session and a turn per prompt whose answer streams in deltas.
 * Tokens stay in each session's own CODEX_HOME (mode 0700), written by the
 * binary; the session data holds the folder's name and the account. Node only.
 *
 * One process per session that is signing in or running, at most
 * `maxProcesses` in all; an idle one stops after `idleShutdownMs` and starts
 * again from its folder when the session next runs. `/status` starts nothing.
 *
 * @example
 * const handler = createCodexHandler({
 *   runner: appServerRunner({ homeRoot: "/var/lib/my-app/codex", maxProcesses: 16 }),
 *   cookieSecret: process.env.CODEX_COOKIE_SECRET!,
 * });
 */
export function appServerRunner(options: AppServerRunnerOptions = {}): AppServerRunner {
  const opts = resolveAppServerOptions(options);
  const pool = new AppServerPool(opts);
  const logins = new AppServerLogins(opts, pool);
  const sweeper = new HomeSweeper(opts, (name) => pool.has(name));
  const touch = (ctx: RunnerContext) => {
    const state = readState(ctx.data);
    if (state) touchHome(opts, state.home);
  };

  async function* run(ctx: RunnerContext, prompt: string, signal: AbortSignal, runOptions: RunOptions = {}): AsyncGenerator<RunEvent> {
    touch(ctx);
    const state = readState(ctx.data);
    if (!state?.account) {
      yield toErrorEvent(new CodexError("NOT_AUTHENTICATED", "Sign in first."));
      return;
    }
    const model = runOptions.model;
    if (model !== undefined && !MODEL_PATTERN.test(model)) {
      yield toErrorEvent(new CodexError("MODEL_NOT_AVAILABLE", "The model is not available for this account."));
      return;
    }
    if ((runOptions.instructions?.length ?? 0) > MAX_INSTRUCTIONS) {
      yield toErrorEvent(new CodexError("BAD_REQUEST", "The instructions are too long for the codex app-server."));
      return;
    }
    let lease: Lease;
    try {
      lease = await pool.acquire(state.home);
    } catch (error) {
      yield toErrorEvent(error instanceof CodexError ? error : new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server could not be started."));
      return;
    }
    let released = false;
    const release = () => {
      if (!released) lease.release();
      released = true;
    };
    try {
      const { server } = lease;
      // A process started from the folder: is the login in it still there?
      if (!server.thread) {
        let account: Account | undefined;
        try {
          account = await readAccount(server.rpc);
        } catch (error) {
          release();
          yield toErrorEvent(error instanceof CodexError ? error : new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server did not answer."));
          return;
        }
        if (!account) {
          signedOut(ctx, state.home);
          release();
          yield toErrorEvent(new CodexError("NOT_AUTHENTICATED", "Sign in again."));
          return;
        }
      }
      const continues = continuesThread(server.thread, runOptions);
      if (!continues) server.thread = undefined;
      const input = {
        prompt: continues ? prompt : withHistory(prompt, runOptions),
        model,
        instructions: runOptions.instructions,
        planType: state.account.planType,
      };
      const end = yield* runTurn(opts, server, input, signal);
      if (end.stopProcess) await pool.stop(state.home);
      if (end.event?.type === "error" && end.event.code === "NOT_AUTHENTICATED") signedOut(ctx, state.home);
      // Let go of the process before the last event: a consumer may never pull again after it.
      release();
      if (end.event) yield end.event;
    } finally {
      release();
    }
  }

  /** The folder's login is gone (revoked, or its auth.json lost): the session is signed out, its folder kept for a new sign-in. */
  function signedOut(ctx: RunnerContext, home: string): void {
    writeState(ctx.data, { home });
    logins.forget(ctx.id);
  }

  async function logout(ctx: RunnerContext): Promise<void> {
    const state = readState(ctx.data);
    await logins.stop(ctx.id);
    writeState(ctx.data, undefined);
    if (!state) return;
    try {
      // Revoke upstream (best effort, bounded by requestMs) through the session's process; the folder goes either way.
      const lease = state.account ? await pool.acquire(state.home).catch(() => undefined) : undefined;
      await lease?.server.rpc.request("account/logout", undefined).catch(() => undefined);
      lease?.release();
    } finally {
      await pool.stop(state.home);
      removeHome(opts.homeRoot, state.home);
    }
  }

  sweeper.start();
  return {
    startDeviceLogin: async (ctx) => {
      touch(ctx);
      return logins.start(ctx);
    },
    getStatus: async (ctx) => {
      touch(ctx);
      return logins.status(ctx);
    },
    run,
    logout,
    sweep: () => sweeper.sweep(),
    processCount: () => pool.size,
    async close() {
      sweeper.stop();
      await logins.stopAll();
      await pool.stopAll();
    },
  };
}

/**
 * Whether a run goes on in the process's thread. Without `history` the thread is the
 * conversation. With it, the app keeps the conversation: the thread goes on only when it
 * has completed as many turns as the history has user messages (the same conversation, one
 * turn on); otherwise (a new chat, another branch, a restarted process) a new thread starts
 * with the history as a transcript. New `instructions` start a new thread too.
 */
function continuesThread(thread: ThreadState | undefined, options: RunOptions): boolean {
  if (!thread || thread.instructions !== options.instructions) return false;
  if (options.history === undefined) return thread.turns > 0;
  return options.history.filter((m) => m.role === "user").length === thread.turns && thread.turns > 0;
}
