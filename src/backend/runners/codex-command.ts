/**
 * What the two runners that start the official codex binary share: where the
 * binary is, which environment it inherits, the flags that keep it quiet, and
 * the checks on options that end up on its command line.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type { CodexLogger } from "../core/audit.js";

/** Rewrites a command line before it is spawned (e.g. to run the binary inside `unshare -n`). */
export type CommandWrapper = (command: string, args: string[]) => [string, string[]];

/** The options of `cliRunner` and `appServerRunner` that mean the same for both. Every field is optional. */
export interface CodexBinaryOptions {
  /** The codex executable. Default: `@openai/codex`'s bin script (run with this Node), else `codex` on PATH. */
  codexPath?: string;
  /** `-c chatgpt_base_url=...`, e.g. `http://127.0.0.1:PORT/backend-api/`. Default: the binary's own. */
  chatgptBaseUrl?: string;
  /** `-c openai_base_url=...`, e.g. `http://localhost:PORT/backend-api/codex`. Default: the binary's own. */
  openaiBaseUrl?: string;
  /** Where logout revokes (CODEX_REVOKE_TOKEN_URL_OVERRIDE). Default `${issuer}/oauth/revoke` when `issuer` is set. */
  revokeUrl?: string;
  /** Extra environment for every process (wins over the defaults). */
  env?: Record<string, string>;
  /** Rewrite each command line before spawning it. */
  wrap?: CommandWrapper;
  /** Model for runs that name none. Default: the binary's choice. */
  model?: string;
  /**
   * A session folder unused for longer than this is removed by the sweep (its tokens with it).
   * Set it to your session store's absolute timeout (`absoluteTimeoutMs`). Default 7 days (the stores' default).
   */
  maxSessionAgeMs?: number;
  /** How often the sweep runs, in ms (unref'd timer; `0` turns the timer off, `sweep()` still works). Default 1 hour. */
  sweepIntervalMs?: number;
  /** Entries of `homeRoot` one sweep looks at; the next sweep goes on from there. Default 1,000. */
  sweepBatchSize?: number;
  /** Receives sweep failures (a message and an error code; no path, no token); with `appServerRunner`, also the binary's redacted stderr. Default: none. */
  logger?: CodexLogger;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Flags that silence the binary's optional calls (apps, plugins, analytics). */
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

/** A model name safe to pass as one argument (no leading dash, no spaces). */
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

/** Longest delay a Node timer takes (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The server's own variables from PASSED_ENV, plus no colours, plus the app's `extra` (which wins). */
export function childEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, NO_COLOR: "1", TERM: "dumb", ...extra };
}

export function checkCount(owner: string, name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TypeError(`${owner}: ${name} must be an integer from ${min} to ${max}`);
  return value;
}

export function checkUrl(owner: string, name: string, url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${owner}: ${name} must be an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError(`${owner}: ${name} must be an http(s) URL`);
  // A quote would end the TOML string of a -c override.
  if (/["\\\s]/.test(url)) throw new TypeError(`${owner}: ${name} must not contain quotes, backslashes or spaces`);
  return url;
}

/** `codexPath`, else the codex bin script of the app's own @openai/codex install run with this Node, else `codex` on PATH. */
export function codexCommand(codexPath: string | undefined): { command: string; prefix: string[] } {
  if (codexPath) return { command: codexPath, prefix: [] };
  try {
    const script = createRequire(join(process.cwd(), "index.js")).resolve("@openai/codex/bin/codex.js");
    return { command: process.execPath, prefix: [script] };
  } catch {
    return { command: "codex", prefix: [] };
  }
}

/** `-c chatgpt_base_url=…` and `-c openai_base_url=…` when set. */
export function backendOverrides(urls: { chatgptBaseUrl: string | undefined; openaiBaseUrl: string | undefined }): string[] {
  const overrides: string[] = [];
  if (urls.chatgptBaseUrl) overrides.push("-c", `chatgpt_base_url="${urls.chatgptBaseUrl}"`);
  if (urls.openaiBaseUrl) overrides.push("-c", `openai_base_url="${urls.openaiBaseUrl}"`);
  return overrides;
}
