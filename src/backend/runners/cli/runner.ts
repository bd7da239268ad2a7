/** `cliRunner`: the CodexRunner that drives the official codex CLI, one CODEX_HOME folder per session. */
import type { RunEvent } from "../../../contract.js";
import type { CodexRunner, RunnerContext, RunOptions } from "../types.js";
import { runExec } from "./exec.js";
import { ensureHome, forgetLogin, homePath, readAccount, readState, removeHome, writeState } from "./home.js";
import { DeviceLogins } from "./login.js";
import { cliEnv, MAX_INSTRUCTIONS, MODEL_PATTERN, resolveCliOptions, type CliRunnerOptions, type ResolvedCliOptions } from "./options.js";
import { spawnCli, type CliProcess } from "./spawn.js";
import { HomeSweeper, touchHome } from "./sweep.js";
import { withHistory } from "../transcript.js";

/** A CodexRunner that can also stop every CLI process it started (for shutdown and tests). */
export interface CliRunner extends CodexRunner {
  /** Kill every login and run child of this runner and stop the sweep timer. Session folders stay (sessions may outlive the process). */
  close(): Promise<void>;
  /**
   * Remove abandoned session folders now: up to `sweepBatchSize` entries of `homeRoot`, each a
   * session folder (`s-<32 hex>`, a real directory, no symlink) unused for over `maxSessionAgeMs`
   * and with no login or run child of this runner. Resolves with the number removed.
   */
  sweep(): Promise<number>;
}

/**
 * The reference runner that shells out to `codex` (npm `@openai/codex`): device login
 * with `codex login --device-auth`, turns with `codex exec --json`, logout with
 * `codex logout`. Tokens stay in each session's own CODEX_HOME/auth.json, written by
 * the CLI; the session data holds only the folder's name. Node only.
 *
 * Every use of a session touches its folder (at most once a minute). A folder
 * unused for over `maxSessionAgeMs` (default 7 days: set it to the session
 * store's absolute timeout) belonged to a session that expired without a
 * logout; the runner removes it, tokens and all, in a sweep at construction and
 * then every `sweepIntervalMs` (default 1 hour, unref'd timer), or when the app
 * calls `sweep()` itself.
 *
 * @example
 * const handler = createCodexHandler({
 *   runner: cliRunner({ homeRoot: "/var/lib/my-app/codex", maxConcurrentRuns: 2 }),
 *   cookieSecret: process.env.CODEX_COOKIE_SECRET!,
 * });
 */
export function cliRunner(options: CliRunnerOptions = {}): CliRunner {
  const opts = resolveCliOptions(options);
  // Folder name → its live child processes (login, run, logout): the sweep never removes those.
  const working = new Map<string, number>();
  const hold = (name: string, proc: CliProcess) => {
    working.set(name, (working.get(name) ?? 0) + 1);
    void proc.exited.then(() => {
      const left = (working.get(name) ?? 1) - 1;
      if (left > 0) working.set(name, left);
      else working.delete(name);
    });
  };
  const logins = new DeviceLogins(opts, hold);
  const runs = new Map<string, Set<CliProcess>>();
  let active = 0;
  const sweeper = new HomeSweeper(opts, (name) => working.has(name));
  const touch = (ctx: RunnerContext) => {
    const state = readState(ctx.data);
    if (state) touchHome(opts, state.home);
  };

  const track = (id: string) => (proc: CliProcess) => {
    const set = runs.get(id) ?? new Set<CliProcess>();
    set.add(proc);
    runs.set(id, set);
    void proc.exited.then(() => {
      set.delete(proc);
      if (set.size === 0 && runs.get(id) === set) runs.delete(id);
    });
  };

  async function* run(ctx: RunnerContext, prompt: string, signal: AbortSignal, runOptions: RunOptions = {}): AsyncGenerator<RunEvent> {
    const state = readState(ctx.data);
    touch(ctx);
    const home = state ? homePath(opts.homeRoot, state.home) : undefined;
    if (!state || !home || !readAccount(home)) {
      yield { type: "error", code: "NOT_AUTHENTICATED", error: "Sign in first." };
      return;
    }
    const model = runOptions.model;
    if (model !== undefined && !MODEL_PATTERN.test(model)) {
      yield { type: "error", code: "MODEL_NOT_AVAILABLE", error: "The model is not available for this account." };
      return;
    }
    if ((runOptions.instructions?.length ?? 0) > MAX_INSTRUCTIONS) {
      yield { type: "error", code: "BAD_REQUEST", error: "The instructions are too long for the codex CLI." };
      return;
    }
    if (active >= opts.maxConcurrentRuns) {
      yield { type: "error", code: "RATE_LIMITED", error: "Too many runs at once; try again shortly.", retryAfter: 5 };
      return;
    }
    // The slot goes back when the process is gone: a consumer never resumes the generator after `done`.
    active++;
    let held = true;
    const release = () => {
      if (held) active--;
      held = false;
    };
    try {
      const session = ensureHome(opts.homeRoot, state.home);
      const turn = { model, instructions: runOptions.instructions };
      const onProcess = (proc: CliProcess) => {
        hold(state.home, proc);
        track(ctx.id)(proc);
        void proc.exited.then(release);
      };
      yield* runExec(opts, session, withHistory(prompt, runOptions), signal, turn, onProcess);
    } finally {
      release();
    }
  }

  async function logout(ctx: RunnerContext): Promise<void> {
    const state = readState(ctx.data);
    touch(ctx);
    await logins.stop(ctx.id);
    await Promise.all([...(runs.get(ctx.id) ?? [])].map((proc) => proc.stop(opts.timeouts.killGraceMs)));
    writeState(ctx.data, undefined);
    if (!state) return;
    const home = homePath(opts.homeRoot, state.home);
    try {
      if (readAccount(home)) await revoke(opts, home, (proc) => hold(state.home, proc));
    } finally {
      forgetLogin(home);
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
    async close() {
      sweeper.stop();
      await logins.stopAll();
      await Promise.all([...runs.values()].flatMap((set) => [...set].map((proc) => proc.stop(opts.timeouts.killGraceMs))));
    },
  };
}

/** `codex logout`: revokes upstream (the CLI ignores its failure) and deletes auth.json; bounded in time. */
async function revoke(opts: ResolvedCliOptions, home: string, hold: (proc: CliProcess) => void): Promise<void> {
  let proc: CliProcess;
  try {
    proc = spawnCli(opts, ["logout"], cliEnv(opts, home), home);
  } catch {
    return;
  }
  hold(proc);
  const timer = setTimeout(() => void proc.stop(opts.timeouts.killGraceMs), opts.timeouts.logoutMs);
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
