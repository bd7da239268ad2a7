/**
 * One turn through `codex exec --json`: the prompt on stdin, JSON lines turned into
 * RunEvents as they come, the child killed at once when the signal aborts, and the
 * process gone before the last event is handed over.
 */
import type { RunEvent, Usage } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { toErrorEvent } from "../error-event.js";
import { errorForMessage, parseExecLine } from "./events.js";
import { forgetLogin, secretsOf } from "./home.js";
import { cliEnv, execArgs, type ResolvedCliOptions } from "./options.js";
import { spawnCli, type CliProcess } from "./spawn.js";
import { stderrSummary } from "./stderr.js";

export interface ExecSession {
  home: string;
  work: string;
}

type Wake = "line" | "closed" | "idle" | "total" | "abort";

/** The agent could print a file it read: the session's own tokens never leave in its text. */
function scrub(text: string, home: string): string {
  let out = text;
  for (const secret of secretsOf(home)) out = out.split(secret).join("[redacted]");
  return out;
}

export async function* runExec(
  opts: ResolvedCliOptions,
  session: ExecSession,
  prompt: string,
  signal: AbortSignal,
  turn: { model?: string; instructions?: string },
  track: (proc: CliProcess) => void,
): AsyncGenerator<RunEvent, void, undefined> {
  if (signal.aborted) return;
  const context = { paths: [session.home] };
  const model = turn.model;
  let proc: CliProcess;
  try {
    const args = execArgs(opts, session.work, model, turn.instructions);
    proc = spawnCli(opts, args, cliEnv(opts, session.home), session.work, prompt);
  } catch {
    yield toErrorEvent(new CodexError("UPSTREAM_UNAVAILABLE", "The codex CLI could not be started."));
    return;
  }
  track(proc);
  const lines: string[] = [];
  let closed = false;
  let wake: ((why: Wake) => void) | undefined;
  const notify = (why: Wake) => {
    const waiter = wake;
    wake = undefined;
    waiter?.(why);
  };
  proc.onLine((line) => {
    lines.push(line);
    notify("line");
  });
  void proc.exited.then(() => {
    closed = true;
    notify("closed");
  });
  const grace = opts.timeouts.killGraceMs;
  // The client went away: stop the child now, not at the next line.
  const onAbort = () => {
    void proc.stop(grace);
    notify("abort");
  };
  signal.addEventListener("abort", onAbort, { once: true });
  let totalExpired = false;
  const total = setTimeout(() => {
    totalExpired = true;
    notify("total");
  }, opts.timeouts.execTotalMs);

  const release = () => {
    clearTimeout(total);
    signal.removeEventListener("abort", onAbort);
  };

  let text = false;
  let usage: Usage | undefined;
  let completed = false;
  let failure: CodexError | undefined;
  let lastError: string | undefined;
  let timeout: CodexError | undefined;
  try {
    while (!signal.aborted) {
      const line = lines.shift();
      if (line !== undefined) {
        const parsed = parseExecLine(line);
        if (parsed.kind === "text" && parsed.text !== "") {
          const clean = scrub(parsed.text, session.home);
          yield { type: "assistant-text", mode: "append", text: text ? `\n\n${clean}` : clean };
          text = true;
        } else if (parsed.kind === "completed") {
          completed = true;
          usage = parsed.usage;
        } else if (parsed.kind === "error") {
          lastError = parsed.message;
        } else if (parsed.kind === "failed") {
          failure = errorForMessage(parsed.message || lastError || "", context);
        }
        continue;
      }
      if (closed) break;
      if (totalExpired) {
        timeout = new CodexError("UPSTREAM_TIMEOUT", "The run took too long and was stopped.");
        break;
      }
      const why = await new Promise<Wake>((resolve) => {
        // Once the turn is over, only a short wait for the exit; before that, the idle limit.
        const idle = setTimeout(() => notify("idle"), completed || failure ? grace : opts.timeouts.execIdleMs);
        wake = (w) => {
          clearTimeout(idle);
          resolve(w);
        };
      });
      if (why === "idle") {
        // Finished but slow to exit: fine. Silent mid-turn: a hung upstream.
        if (!completed && !failure) timeout = new CodexError("UPSTREAM_TIMEOUT", "The answer stopped arriving and the run was stopped.");
        break;
      }
    }
    if (signal.aborted) return;
    // Release the process, timer and listener before the last event: a consumer may never pull again after it.
    const exit = await proc.stop(grace);
    release();
    if (signal.aborted) return;
    if (timeout) {
      yield toErrorEvent(timeout);
    } else if (failure) {
      if (failure.code === "NOT_AUTHENTICATED") forgetLogin(session.home);
      yield toErrorEvent(failure);
    } else if (completed) {
      const result: { usage?: Usage; model?: string } = {};
      if (usage) result.usage = usage;
      if (model ?? opts.model) result.model = model ?? opts.model;
      yield { type: "done", result };
    } else if (exit.error) {
      yield toErrorEvent(new CodexError("UPSTREAM_UNAVAILABLE", "The codex CLI could not be started."));
    } else {
      // Only the CLI's own error lines are mapped: stderr also logs non-fatal 401s (e.g. a model-list refresh).
      const summary = stderrSummary(proc.stderr(), context);
      const error = lastError
        ? errorForMessage(lastError, context)
        : new CodexError("RUN_FAILED", summary ? `The codex CLI failed: ${summary}` : "The codex CLI ended without an answer.");
      if (error.code === "NOT_AUTHENTICATED") forgetLogin(session.home);
      yield toErrorEvent(error);
    }
  } finally {
    release();
    if (proc.running()) await proc.stop(grace);
  }
}
