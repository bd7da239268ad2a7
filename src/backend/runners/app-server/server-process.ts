/**
 * One `codex app-server` process for one session folder: spawned with the
 * folder as its CODEX_HOME, initialised, its stderr redacted line by line
 * before it reaches the logger.
 */
import { safeLogger } from "../../core/audit.js";
import { CodexError } from "../../core/errors.js";
import { ensureHome, secretsOf } from "../cli/home.js";
import { spawnCli, type CliProcess } from "../cli/spawn.js";
import { sanitizeCliText } from "../cli/stderr.js";
import { appServerArgs, appServerEnv, type ResolvedAppServerOptions } from "./options.js";
import type { RateLimitSnapshot } from "./protocol/v2/RateLimitSnapshot";
import { RpcConnection } from "./rpc.js";
import { scrubText } from "./scrub.js";

/** The conversation a session's process holds (threads are ephemeral: they end with the process). */
export interface ThreadState {
  id: string;
  instructions: string | undefined;
  /** Turns that completed on it: a run whose history has as many user messages continues it. */
  turns: number;
}

export interface AppServer {
  /** The session folder's name under homeRoot. */
  readonly name: string;
  /** Its path (CODEX_HOME). */
  readonly home: string;
  readonly proc: CliProcess;
  readonly rpc: RpcConnection;
  thread: ThreadState | undefined;
  /** The last rate-limit snapshot the process reported (`account/rateLimits/updated`). */
  rateLimits: RateLimitSnapshot | undefined;
}

/** Warnings every start prints that say nothing about this session (sandbox helpers a temp home cannot have). */
const NOISE = /could not create PATH aliases|could not find bubblewrap|bundled bubblewrap|failed to connect to Responses WebSocket/i;
const CLIENT_INFO = { name: "codex-auth", title: null, version: "0.1.0" };

export async function startAppServer(opts: ResolvedAppServerOptions, name: string): Promise<AppServer> {
  const { home, work } = ensureHome(opts.homeRoot, name);
  let proc: CliProcess;
  try {
    proc = spawnCli(opts, appServerArgs(opts), appServerEnv(opts, home), work, null);
  } catch {
    throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server could not be started.");
  }
  logStderr(opts, proc, home);
  const rpc = new RpcConnection(proc, opts.timeouts.requestMs);
  const server: AppServer = { name, home, proc, rpc, thread: undefined, rateLimits: undefined };
  rpc.listen((note) => {
    if (note.method === "account/rateLimits/updated") server.rateLimits = note.params.rateLimits;
  });
  try {
    await rpc.request("initialize", { clientInfo: CLIENT_INFO, capabilities: null }, opts.timeouts.startMs);
    rpc.notify("initialized");
  } catch (error) {
    await proc.stop(opts.timeouts.killGraceMs);
    const exit = await proc.exited;
    if (exit.error) throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server could not be started.");
    throw error instanceof CodexError && error.code === "UPSTREAM_TIMEOUT"
      ? new CodexError("UPSTREAM_TIMEOUT", "The codex app-server did not start in time.")
      : new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server could not be started.");
  }
  return server;
}

/** Each stderr line, control characters out, paths and tokens replaced, to the logger's `warn`. */
function logStderr(opts: ResolvedAppServerOptions, proc: CliProcess, home: string): void {
  if (!opts.logger) return;
  const log = safeLogger(opts.logger);
  let partial = "";
  proc.child.stderr?.on("data", (chunk: string) => {
    partial += chunk;
    const lines = partial.split("\n");
    partial = (lines.pop() ?? "").slice(-16 * 1024);
    const useful = lines.filter((line) => line.trim() !== "" && !NOISE.test(line));
    if (useful.length === 0) return;
    // Read per chunk, not per line: the binary refreshes tokens itself, so they are read again each time.
    const secrets = secretsOf(home);
    for (const line of useful) {
      const text = sanitizeCliText(scrubText(line, secrets), { paths: [home] });
      if (text) log.warn("codex app-server: " + text, { code: "APP_SERVER_STDERR" });
    }
  });
}
