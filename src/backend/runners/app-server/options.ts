/** Options of `appServerRunner`, their defaults, and the command line and environment of each app-server process. */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CodexLogger } from "../../core/audit.js";
import {
  backendOverrides,
  checkCount as checkCountOf,
  checkUrl as checkUrlOf,
  childEnv,
  codexCommand,
  MAX_TIMER_MS,
  MODEL_PATTERN,
  QUIET_ARGS,
  type CodexBinaryOptions,
  type CommandWrapper,
} from "../codex-command.js";
import type { ReasoningEffort } from "./protocol/ReasoningEffort";

/** Time limits, in milliseconds. */
export interface AppServerRunnerTimeouts {
  /** From spawning an app-server until it answers `initialize`. Default 20 000. */
  startMs?: number;
  /** One JSON-RPC request (login start, account read, thread start, …). Default 15 000. */
  requestMs?: number;
  /** Lifetime of a device login (the upstream code's). Default 900 000 (15 minutes). */
  loginMs?: number;
  /** Silence allowed between two events of a turn. Default 120 000. */
  turnIdleMs?: number;
  /** A whole turn. Default 600 000. */
  turnTotalMs?: number;
  /** From `turn/interrupt` until the turn reports its end; after it the process is stopped. Default 5 000. */
  interruptMs?: number;
  /** Between SIGTERM and SIGKILL when a process must stop. Default 2 000. */
  killGraceMs?: number;
}

/** Options of `appServerRunner`. Every field is optional; those it shares with `cliRunner` mean the same. */
export interface AppServerRunnerOptions extends CodexBinaryOptions {
  /** Parent folder of the per-session CODEX_HOME folders (created 0700). Default `<tmpdir>/codex-auth-app-server-<uid>`. */
  homeRoot?: string;
  /** OAuth issuer for login and refresh (the app-server reads it from CODEX_APP_SERVER_LOGIN_ISSUER). Default: auth.openai.com. */
  issuer?: string;
  /** Reasoning effort of every turn. Default: the model's. */
  effort?: ReasoningEffort;
  timeouts?: AppServerRunnerTimeouts;
  /**
   * App-server processes alive at once across all sessions (each about 140 MB of RSS, plus about 40 MB for the npm
   * wrapper unless `codexPath` names the native binary). Idle ones are stopped to make room; when none is idle
   * (every one has a login or a turn), RATE_LIMITED. Default 4.
   */
  maxProcesses?: number;
  /** A process with no login or turn for this long is stopped (restarted from its folder on demand). Default 300 000 (5 minutes). */
  idleShutdownMs?: number;
}

export interface ResolvedAppServerOptions {
  command: string;
  commandPrefix: string[];
  homeRoot: string;
  issuer: string | undefined;
  chatgptBaseUrl: string | undefined;
  openaiBaseUrl: string | undefined;
  revokeUrl: string | undefined;
  env: Record<string, string>;
  wrap: CommandWrapper;
  model: string | undefined;
  effort: ReasoningEffort | undefined;
  timeouts: Required<AppServerRunnerTimeouts>;
  maxProcesses: number;
  idleShutdownMs: number;
  maxSessionAgeMs: number;
  sweepIntervalMs: number;
  sweepBatchSize: number;
  logger: CodexLogger | undefined;
  now: () => number;
}

const OWNER = "appServerRunner";
/** The protocol types effort as a string; the binary knows none, minimal, low, medium, high, xhigh. */
const EFFORT = /^[a-z]{1,20}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

function defaultHomeRoot(): string {
  const uid = typeof process.getuid === "function" ? String(process.getuid()) : "user";
  return join(tmpdir(), `codex-auth-app-server-${uid}`);
}

function time(name: string, value: number | undefined, fallback: number): number {
  return checkCountOf(OWNER, `timeouts.${name}`, value ?? fallback, 1, MAX_TIMER_MS);
}

export function resolveAppServerOptions(options: AppServerRunnerOptions = {}): ResolvedAppServerOptions {
  const t = options.timeouts ?? {};
  if (options.model !== undefined && !MODEL_PATTERN.test(options.model)) throw new TypeError(`${OWNER}: model is not a valid model name`);
  if (options.effort !== undefined && !EFFORT.test(options.effort)) throw new TypeError(`${OWNER}: effort must be a reasoning effort such as "low" or "high"`);
  const issuer = checkUrlOf(OWNER, "issuer", options.issuer)?.replace(/\/+$/, "");
  const { command, prefix } = codexCommand(options.codexPath);
  return {
    command,
    commandPrefix: prefix,
    homeRoot: options.homeRoot ?? defaultHomeRoot(),
    issuer,
    chatgptBaseUrl: checkUrlOf(OWNER, "chatgptBaseUrl", options.chatgptBaseUrl),
    openaiBaseUrl: checkUrlOf(OWNER, "openaiBaseUrl", options.openaiBaseUrl),
    revokeUrl: checkUrlOf(OWNER, "revokeUrl", options.revokeUrl) ?? (issuer ? `${issuer}/oauth/revoke` : undefined),
    env: childEnv(options.env),
    wrap: options.wrap ?? ((c, a) => [c, a]),
    model: options.model,
    effort: options.effort,
    timeouts: {
      startMs: time("startMs", t.startMs, 20_000),
      requestMs: time("requestMs", t.requestMs, 15_000),
      loginMs: time("loginMs", t.loginMs, 15 * 60_000),
      turnIdleMs: time("turnIdleMs", t.turnIdleMs, 120_000),
      turnTotalMs: time("turnTotalMs", t.turnTotalMs, 600_000),
      interruptMs: time("interruptMs", t.interruptMs, 5_000),
      killGraceMs: time("killGraceMs", t.killGraceMs, 2_000),
    },
    maxProcesses: checkCountOf(OWNER, "maxProcesses", options.maxProcesses ?? 4, 1),
    idleShutdownMs: checkCountOf(OWNER, "idleShutdownMs", options.idleShutdownMs ?? 5 * 60_000, 1, MAX_TIMER_MS),
    maxSessionAgeMs: checkCountOf(OWNER, "maxSessionAgeMs", options.maxSessionAgeMs ?? 7 * DAY_MS, 1),
    sweepIntervalMs: checkCountOf(OWNER, "sweepIntervalMs", options.sweepIntervalMs ?? 60 * 60_000, 0, MAX_TIMER_MS),
    sweepBatchSize: checkCountOf(OWNER, "sweepBatchSize", options.sweepBatchSize ?? 1_000, 1),
    logger: options.logger,
    now: options.now ?? Date.now,
  };
}

/** `codex app-server` with the backend overrides and the quiet flags. */
export function appServerArgs(opts: ResolvedAppServerOptions): string[] {
  return ["app-server", ...backendOverrides(opts), ...QUIET_ARGS];
}

/** Environment of one session's process: HOME and CODEX_HOME both point into its folder; the issuer goes by variable. */
export function appServerEnv(opts: ResolvedAppServerOptions, home: string): Record<string, string> {
  const upstream: Record<string, string> = {};
  if (opts.issuer) upstream["CODEX_APP_SERVER_LOGIN_ISSUER"] = opts.issuer;
  if (opts.revokeUrl) upstream["CODEX_REVOKE_TOKEN_URL_OVERRIDE"] = opts.revokeUrl;
  return { ...upstream, ...opts.env, HOME: home, CODEX_HOME: home };
}
