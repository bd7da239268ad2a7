/** Options of `cliRunner`, their defaults, and the command lines it gives the codex CLI. */
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CodexLogger } from "../../core/audit.js";

/** Rewrites a command line before it is spawned (e.g. to run the CLI inside `unshare -n`). */
export type CommandWrapper = (command: string, args: string[]) => [string, string[]];

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
export interface CliRunnerOptions {
  /** The codex executable. Default: `@openai/codex`'s bin script (run with this Node), else `codex` on PATH. */
  codexPath?: string;
  /** Parent folder of the per-session CODEX_HOME folders (created 0700). Default `<tmpdir>/codex-auth-cli-<uid>`. */
  homeRoot?: string;
  /** OAuth issuer for login and refresh (`--experimental_issuer`). Default: the CLI's own (auth.openai.com). */
  issuer?: string;
  /** `-c chatgpt_base_url=...` for exec, e.g. `http://127.0.0.1:PORT/backend-api/`. Default: the CLI's own. */
  chatgptBaseUrl?: string;
  /** `-c openai_base_url=...` for exec, e.g. `http://localhost:PORT/backend-api/codex`. Default: the CLI's own. */
  openaiBaseUrl?: string;
  /** Where logout revokes (CODEX_REVOKE_TOKEN_URL_OVERRIDE). Default `${issuer}/oauth/revoke` when `issuer` is set. */
  revokeUrl?: string;
  /** Extra environment for every CLI process (wins over the defaults). */
  env?: Record<string, string>;
  /** Rewrite each command line before spawning it. */
  wrap?: CommandWrapper;
  /** Model for runs that name none (`-m`). Default: the CLI's choice. */
  model?: string;
  timeouts?: CliRunnerTimeouts;
  /** `codex exec` processes allowed at once across all sessions; more are refused with RATE_LIMITED. Default 4. */
  maxConcurrentRuns?: number;
  /**
   * A session folder unused for longer than this is removed by the sweep (its tokens with it).
   * Set it to your session store's absolute timeout (`absoluteTimeoutMs`). Default 7 days (the stores' default).
   */
  maxSessionAgeMs?: number;
  /** How often the sweep runs, in ms (unref'd timer; `0` turns the timer off, `sweep()` still works). Default 1 hour. */
  sweepIntervalMs?: number;
  /** Entries of `homeRoot` one sweep looks at; the next sweep goes on from there. Default 1,000. */
  sweepBatchSize?: number;
  /** Receives sweep failures (a message and an error code; no path, no token). Default: none. */
  logger?: CodexLogger;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
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

/** Flags that silence the CLI's optional calls (apps, plugins, analytics). */
export const QUIET_ARGS: readonly string[] = [
  "--disable", "apps",
  "--disable", "plugins",
  "--disable", "remote_plugin",
  "-c", "analytics.enabled=false",
];

/** Environment variables passed through from the server's own (the rest, e.g. OPENAI_API_KEY, is not). */
const PASSED_ENV = [
  "PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
  "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy", "no_proxy",
];

/** Longest `instructions` passed on the command line (argv is bounded, and visible to `ps`). */
export const MAX_INSTRUCTIONS = 32_000;

/** A model name safe to pass as one argument (no leading dash, no spaces). */
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Longest delay a Node timer takes (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function checkCount(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TypeError(`cliRunner: ${name} must be an integer from ${min} to ${max}`);
  return value;
}

function checkUrl(name: string, url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`cliRunner: ${name} must be an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError(`cliRunner: ${name} must be an http(s) URL`);
  // A quote would end the TOML string of a -c override.
  if (/["\\\s]/.test(url)) throw new TypeError(`cliRunner: ${name} must not contain quotes, backslashes or spaces`);
  return url;
}

/** The codex bin script of the app's own @openai/codex install, run with this Node; else `codex` on PATH. */
function defaultCommand(): { command: string; prefix: string[] } {
  try {
    const script = createRequire(join(process.cwd(), "index.js")).resolve("@openai/codex/bin/codex.js");
    return { command: process.execPath, prefix: [script] };
  } catch {
    return { command: "codex", prefix: [] };
  }
}

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
  const { command, prefix } = options.codexPath ? { command: options.codexPath, prefix: [] } : defaultCommand();
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return {
    command,
    commandPrefix: prefix,
    homeRoot: options.homeRoot ?? defaultHomeRoot(),
    issuer,
    chatgptBaseUrl: checkUrl("chatgptBaseUrl", options.chatgptBaseUrl),
    openaiBaseUrl: checkUrl("openaiBaseUrl", options.openaiBaseUrl),
    revokeUrl: checkUrl("revokeUrl", options.revokeUrl) ?? (issuer ? `${issuer}/oauth/revoke` : undefined),
    env: { ...env, NO_COLOR: "1", TERM: "dumb", ...options.env },
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
  if (opts.chatgptBaseUrl) overrides.push("-c", `chatgpt_base_url="${opts.chatgptBaseUrl}"`);
  if (opts.openaiBaseUrl) overrides.push("-c", `openai_base_url="${opts.openaiBaseUrl}"`);
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
