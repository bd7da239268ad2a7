/**
 * Spawning CLI processes: each in its own process group (so a kill reaches the npm
 * wrapper, the native binary and any wrapper around them), with bounded output
 * buffers, a SIGTERM-then-SIGKILL stop, and a last-resort kill when Node exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { ResolvedCliOptions } from "./options.js";

/** How a process ended. `error` is set when it could not be started at all. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything printed on stdout so far (capped). */
  stdout(): string;
  /** The last bytes printed on stderr (capped). */
  stderr(): string;
  /** Called with each complete stdout line. */
  onLine(listener: (line: string) => void): void;
  /** Called when stdout grows. */
  onStdout(listener: () => void): void;
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** SIGTERM the whole group, SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs: number): Promise<Exit>;
}

const MAX_STDOUT = 64 * 1024;
const MAX_STDERR = 16 * 1024;
const MAX_LINE = 4 * 1024 * 1024;

/** Process groups alive now, killed if this process exits first. */
const live = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pid of live) killGroup(pid, "SIGKILL");
  });
}

/** Number of CLI process groups this module still considers alive (for tests and shutdown checks). */
export function liveProcessCount(): number {
  return live.size;
}

/**
 * Spawn `codex <args>` for one session folder; stdin gets `input` and is closed
 * (at once when there is none), or stays open for writes when `input` is null.
 */
export function spawnCli(
  opts: Pick<ResolvedCliOptions, "wrap" | "command" | "commandPrefix">,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  input?: string | null,
): CliProcess {
  installExitHook();
  const [command, commandArgs] = opts.wrap(opts.command, [...opts.commandPrefix, ...args]);
  // Throws only on invalid arguments; a missing executable arrives as an `error` event (Exit.error).
  const child = spawn(command, commandArgs, { env, cwd, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid !== undefined) live.add(pid);

  let out = "";
  let err = "";
  let partial = "";
  const lineListeners: Array<(line: string) => void> = [];
  const stdoutListeners: Array<() => void> = [];
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    if (out.length < MAX_STDOUT) out += chunk.slice(0, MAX_STDOUT - out.length);
    partial += chunk;
    let newline = partial.indexOf("\n");
    while (newline >= 0) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      for (const listener of lineListeners) listener(line);
      newline = partial.indexOf("\n");
    }
    // A runaway line without a newline is dropped rather than buffered without end.
    if (partial.length > MAX_LINE) partial = "";
    for (const listener of stdoutListeners) listener();
  });
  child.stderr?.on("data", (chunk: string) => {
    err = (err + chunk).slice(-MAX_STDERR);
  });
  child.stdin?.on("error", () => undefined);
  if (input !== null) child.stdin?.end(input ?? "");

  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once("error", (error) => {
      if (done) return;
      done = true;
      if (pid !== undefined) live.delete(pid);
      resolve({ code: null, signal: null, error });
    });
    // The leader is gone: kill what it left in its group, so that no pipe stays open and no process lingers.
    child.once("exit", () => {
      if (pid !== undefined) killGroup(pid, "SIGKILL");
    });
    child.once("close", (code, signal) => {
      if (done) return;
      done = true;
      if (pid !== undefined) live.delete(pid);
      if (partial) for (const listener of lineListeners) listener(partial);
      resolve({ code, signal });
    });
  });

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    onLine: (listener) => void lineListeners.push(listener),
    onStdout: (listener) => void stdoutListeners.push(listener),
    exited,
    running: () => !done,
    stop(graceMs) {
      if (done || pid === undefined) return exited;
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      timer.unref();
      return exited.finally(() => clearTimeout(timer));
    },
  };
}
