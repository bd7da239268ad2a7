/** Options of `cliRunner`, their defaults, and the command lines it gives the codex CLI. */
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

export type { CommandWrapper } from "../codex-command.js";
export { MODEL_PATTERN, QUIET_ARGS } from "../codex-command.js";

/** Time limits, in milliseconds. No CLI process outlives these. */
export interface CliRunnerTimeouts {
  /** From spawning `codex login --device-auth` until it prints the code. Default 20 000. */
  loginStartMs?: number;
  /** Lifetime of a device login (the upstream code's). Default 900 000 (15 minutes). */
  loginMs?: number;
  /** Silence allowed between two JSON lines of `codex exec`. Default 120 000. */
  execIdleMs?: number;
  /** A whole `codex exec` run. Default 600 000. */
  execTotalMs?: number;
  /** `codex logout` (the upstream revoke is best effort). Default 10 000. */
  logoutMs?: number;
  /** Between SIGTERM and SIGKILL when a process must stop. Default 2 000. */
  killGraceMs?: number;
}

/** Options of `cliRunner`. Every field is optional. */
export interface CliRunnerOptions extends CodexBinaryOptions {
  /** Parent folder of the per-session CODEX_HOME folders (created 0700). Default `<tmpdir>/codex-auth-cli-<uid>`. */
  homeRoot?: string;
  /** OAuth issuer for login and refresh (`--experimental_issuer`). Default: the CLI's own (auth.openai.com). */
  issuer?: string;
  timeouts?: CliRunnerTimeouts;
  /** `codex exec` processes allowed at once across all sessions; more are refused with RATE_LIMITED. Default 4. */
  maxConcurrentRuns?: number;
}

export interface ResolvedCliOptions {
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
  timeouts: Required<CliRunnerTimeouts>;
  maxConcurrentRuns: number;
  maxSessionAgeMs: number;
  sweepIntervalMs: number;
  sweepBatchSize: number;
  logger: CodexLogger | undefined;
  now: () => number;
}

/** Longest `instructions` passed on the command line (argv is bounded, and visible to `ps`). */
export const MAX_INSTRUCTIONS = 32_000;

const DAY_MS = 24 * 60 * 60 * 1000;
const checkCount = (name: string, value: number, min: number, max?: number) => checkCountOf("cliRunner", name, value, min, max);
const checkUrl = (name: string, url: string | undefined) => checkUrlOf("cliRunner", name, url);

function defaultHomeRoot(): string {
  const uid = typeof process.getuid === "function" ? String(process.getuid()) : "user";
  return join(tmpdir(), `codex-auth-cli-${uid}`);
}

export function resolveCliOptions(options: CliRunnerOptions = {}): ResolvedCliOptions {
  const t = options.timeouts ?? {};
  if (options.model !== undefined && !MODEL_PATTERN.test(options.model)) throw new TypeError("cliRunner: model is not a valid model name");
  const max = options.maxConcurrentRuns ?? 4;
  if (!Number.isInteger(max) || max < 1) throw new TypeError("cliRunner: maxConcurrentRuns must be a positive integer");
  const issuer = checkUrl("issuer", options.issuer)?.replace(/\/+$/, "");
  const { command, prefix } = codexCommand(options.codexPath);
  return {
    command,
    commandPrefix: prefix,
    homeRoot: options.homeRoot ?? defaultHomeRoot(),
    issuer,
    chatgptBaseUrl: checkUrl("chatgptBaseUrl", options.chatgptBaseUrl),
    openaiBaseUrl: checkUrl("openaiBaseUrl", options.openaiBaseUrl),
    revokeUrl: checkUrl("revokeUrl", options.revokeUrl) ?? (issuer ? `${issuer}/oauth/revoke` : undefined),
    env: childEnv(options.env),
    wrap: options.wrap ?? ((c, a) => [c, a]),
    model: options.model,
    timeouts: {
      loginStartMs: t.loginStartMs ?? 20_000,
      loginMs: t.loginMs ?? 15 * 60_000,
      execIdleMs: t.execIdleMs ?? 120_000,
      execTotalMs: t.execTotalMs ?? 600_000,
      logoutMs: t.logoutMs ?? 10_000,
      killGraceMs: t.killGraceMs ?? 2_000,
    },
    maxConcurrentRuns: max,
    maxSessionAgeMs: checkCount("maxSessionAgeMs", options.maxSessionAgeMs ?? 7 * DAY_MS, 1),
    sweepIntervalMs: checkCount("sweepIntervalMs", options.sweepIntervalMs ?? 60 * 60_000, 0, MAX_TIMER_MS),
    sweepBatchSize: checkCount("sweepBatchSize", options.sweepBatchSize ?? 1_000, 1),
    logger: options.logger,
    now: options.now ?? Date.now,
  };
}

/** `codex login --device-auth` arguments. */
export function loginArgs(opts: ResolvedCliOptions): string[] {
  const issuer = opts.issuer ? ["--experimental_issuer", opts.issuer] : [];
  return ["login", "--device-auth", ...issuer, ...QUIET_ARGS];
}

/** `codex exec` arguments: JSON lines out, prompt on stdin, read-only sandbox, nothing persisted. */
export function execArgs(opts: ResolvedCliOptions, workDir: string, model: string | undefined, instructions?: string): string[] {
  const overrides: string[] = [];
  // A JSON string is a valid TOML basic string; the CLI sends it as a developer message.
  if (instructions) overrides.push("-c", `developer_instructions=${JSON.stringify(instructions)}`);
  overrides.push(...backendOverrides(opts));
  const chosen = model ?? opts.model;
  return [
    "exec", "--json", "--skip-git-repo-check", "--ephemeral",
    "--sandbox", "read-only", "--cd", workDir,
    ...(chosen ? ["--model", chosen] : []),
    ...overrides,
    ...QUIET_ARGS,
    "-",
  ];
}

/** Environment of a CLI process for one session folder: HOME and CODEX_HOME both point into it. */
export function cliEnv(opts: ResolvedCliOptions, home: string): Record<string, string> {
  const revoke: Record<string, string> = opts.revokeUrl ? { CODEX_REVOKE_TOKEN_URL_OVERRIDE: opts.revokeUrl } : {};
  return { ...revoke, ...opts.env, HOME: home, CODEX_HOME: home };
}
