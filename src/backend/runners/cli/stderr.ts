/** Text from the codex CLI (stderr, error lines) made safe to leave the backend. */
import { homedir } from "node:os";
import { redact } from "../../core/redact.js";

/** Longest message a CLI failure may forward. */
export const MAX_CLI_MESSAGE = 400;

/** Paths that reveal the server's layout beyond what redact() catches. */
export interface SanitizeContext {
  /** The session's CODEX_HOME folder (and anything else private to this run). */
  paths?: readonly string[];
  /** Default the server's home directory. */
  home?: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Remove ANSI escapes and other control characters (except newlines and tabs). */
export function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/\u001b\][^\u0007]*\u0007/g, "").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}

/**
 * Sanitises CLI output: control characters out, the session's folders and the
 * home directory replaced by `[path]` (even where redact()'s path rule would
 * miss them), then every line through redact() (JWTs, bearer tokens, keys),
 * blank lines dropped, and the result capped at `max` characters.
 *
 * @example
 * sanitizeCliText('Error: 401 Bearer eyJa.eyJb.c (codex_home: "/srv/x/s-1")', { paths: ["/srv/x/s-1"] })
 * // → 'Error: 401 Bearer [redacted] (codex_home: "[path]")'
 */
export function sanitizeCliText(text: string, context: SanitizeContext = {}, max = MAX_CLI_MESSAGE): string {
  let out = stripControl(String(text));
  const home = context.home ?? safeHome();
  // Longest first, so a session folder under home goes as a whole.
  const paths = [...(context.paths ?? []), ...(home && home.length > 1 ? [home] : [])]
    .filter((p) => p.length > 1)
    .sort((a, b) => b.length - a.length);
  for (const path of paths) {
    out = out.replace(new RegExp(`${escapeRegExp(path)}[^\\s"'\`:;,)]*`, "g"), "[path]");
  }
  const lines = out
    .split(/\r?\n/)
    .map((line) => redact(line).trim())
    .filter((line) => line !== "");
  const joined = lines.join("\n");
  return joined.length > max ? `${joined.slice(0, max - 1)}…` : joined;
}

/** The last meaningful lines of a stderr capture, sanitised (CLI warnings about PATH aliases skipped). */
export function stderrSummary(stderr: string, context: SanitizeContext = {}, max = MAX_CLI_MESSAGE): string {
  const useful = stripControl(stderr)
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "" && !/could not create PATH aliases/i.test(line))
    .slice(-6)
    .join("\n");
  return sanitizeCliText(useful, context, max);
}

function safeHome(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}
